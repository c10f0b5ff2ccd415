// Links to the run pages, shared by the widget and the pages. `root` is the pages root
// ("<base_url>nbtrack/" in Jupyter, "/pages/" on the tracking server), with its slash.

/** "entity/project/id" of a run (the key the runs table and the compare view use). */
export function runPath(run) {
  return `${run.entity}/${run.project}/${run.id}`;
}

/** Each segment of a run path percent-encoded, the slashes kept. */
export function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The run page of a run ({entity, project, id}) under `root`. */
export function runHref(root, run) {
  return `${root}runs/${[run.entity, run.project, run.id].map(encodeURIComponent).join('/')}`;
}
