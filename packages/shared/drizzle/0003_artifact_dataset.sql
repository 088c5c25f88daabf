ALTER TABLE `artifacts` ADD `dataset` text;
--> statement-breakpoint
-- Packed datasets, training runs and reports are now told apart by dataset. In a manifest of one
-- dataset, the existing ones belong to it (their paths stay as they were).
UPDATE `artifacts` SET `dataset` = (SELECT min(`dataset`) FROM `clips`)
  WHERE `stage` IN ('datasets', 'train', 'eval') AND `dataset` IS NULL AND (SELECT count(DISTINCT `dataset`) FROM `clips`) = 1;
--> statement-breakpoint
-- In a manifest of several datasets they were made from a mix of them (the bug this fixes): forget
-- them, so that each dataset's are made again (in a folder named after it); their files are left.
DELETE FROM `artifacts` WHERE `stage` IN ('datasets', 'train', 'eval') AND `dataset` IS NULL;
--> statement-breakpoint
-- The identity text gains the dataset as its last part (canonical JSON, as identityKey writes it).
UPDATE `artifacts` SET `identity` = json_insert(`identity`, '$[#]', `dataset`);
