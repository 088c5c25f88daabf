-- A training run is an artifact of kind `training-run` (the run folder, recorded by its
-- artifact.json), no longer `checkpoint`: rename the kind in the column and in the identity
-- text (canonical JSON [stage, kind, clip, direction, stride, source, variant]), so that the
-- next `train` finds the row, sees its new path and remakes the run.
UPDATE `artifacts` SET `kind` = 'training-run', `identity` = json_set(`identity`, '$[1]', 'training-run') WHERE `kind` = 'checkpoint';
