import path from 'node:path';
import { resolveInside } from 'shared';
import type { LayoutCollector } from './collector.js';
import { findChildFolder, indexClipTree, pickSource } from './fs-index.js';
import type { ClipCandidate, SourceKind, SourceRef, SourceRole } from './types.js';

/** Where one version (raw or face) of a dataset's clips lives. */
export interface RoleTree {
  role: SourceRole;
  folder: string;
  /** Present when files are checked: what exists under `folder`, keyed by lower-cased clip id. */
  index?: Map<string, SourceRef[]>;
  /** The kind to expect (and to assume when files are not checked). */
  preferred: SourceKind;
}

export interface RoleTreeRequest {
  role: SourceRole;
  /** The folder holding the role's folder. */
  parent: string;
  /** Accepted spellings of the role's folder, matched ignoring case; the first is assumed when none exists. */
  aliases: readonly string[];
  /** Clip ids are this many path segments deep. */
  depth: number;
  preferred: SourceKind;
}

/** Finds (and, with `checkFiles`, indexes) each role's folder; a missing one is a problem when checking. */
export async function openRoleTrees(
  requests: readonly RoleTreeRequest[],
  checkFiles: boolean,
  collector: LayoutCollector,
): Promise<RoleTree[]> {
  const trees: RoleTree[] = [];
  for (const request of requests) {
    const folder = await findChildFolder(request.parent, request.aliases);
    const assumed = path.join(request.parent, request.aliases[0] as string);
    if (!checkFiles) {
      // Unchecked paths still use the spelling found on disk when there is one.
      trees.push({ role: request.role, folder: folder ?? assumed, preferred: request.preferred });
    } else if (!folder) {
      collector.problem({
        code: 'missing_folder',
        path: assumed,
        detail: `${request.role} clip folder missing (looked for ${request.aliases.join(' or ')}, any letter case)`,
      });
    } else {
      trees.push({ role: request.role, folder, preferred: request.preferred, index: await indexClipTree(folder, request.depth) });
    }
  }
  return trees;
}

/** Fills `clip.sources` from the trees; returns false (after recording why) when no source was found. */
export function attachSources(clip: ClipCandidate, trees: readonly RoleTree[], collector: LayoutCollector): boolean {
  for (const tree of trees) {
    // the id was confined when it was claimed; the join is confined again, as every path from input is
    const assumed = resolveInside(tree.folder, clip.id, `clip id "${clip.id}"`);
    if (!tree.index) {
      const file = assumed + (tree.preferred === 'video' ? '.mp4' : '');
      clip.sources[tree.role] = { path: file, kind: tree.preferred };
      continue;
    }
    const found = pickSource(tree.index.get(clip.id.toLowerCase()), tree.preferred);
    if (found) clip.sources[tree.role] = found;
    else
      collector.problem({
        code: 'missing_file',
        clipId: clip.id,
        path: assumed,
        detail: `${tree.role} source missing`,
      });
  }
  if (clip.sources.raw || clip.sources.face) return true;
  if (trees.length === 0) collector.problem({ code: 'missing_file', clipId: clip.id, detail: 'no source folder found for this clip' });
  return false;
}
