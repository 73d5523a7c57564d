package hostscript

import (
	"fmt"
	"strings"
)

// hookFunctions defines the scripts' shell functions that run hooks. A
// hook path is either Ottr's hook directory or one program:
//
//   - a directory (Ottr's /opt/otter/hooks/pre and post): every *.sh in it
//     runs with bash, in the shell's glob order, and the first that fails
//     stops the script, as Ottr's run_hooks did with
//     `for each in <dir>/*.sh ; do bash $each || exit ; done`
//     (platforms/linux-aws-ssm/src/app.py): the executable bit is not
//     needed and other files never run;
//   - a file runs itself when it is executable.
//
// A path that does not exist runs nothing. Hooks read nothing and write
// to stderr: a script's stdout is its result (the CSR).
const hookFunctions = `run_hook_dir() {
  for hook in "$1"/*.sh; do
    [ -f "$hook" ] || continue
    command -v bash >/dev/null 2>&1 || { echo "bash is needed to run the hooks in $1" >&2; exit 1; }
    echo "running hook $hook" >&2
    if bash "$hook" </dev/null >&2; then :; else
      rc=$?
      echo "hook $hook failed with status $rc" >&2
      exit 1
    fi
  done
}
run_hook() {
  if [ -d "$1" ]; then
    run_hook_dir "$1"
  elif [ -x "$1" ]; then
    "$1" </dev/null >&2
  fi
}
`

// preHook writes the pre hook's run into an Install or Restore script. A
// pre hook directory runs before the CSR's key is made (Ottr's order), so
// an Install, which follows the CSR, runs only a pre hook file; a Restore
// runs either before it changes anything.
func (f *Files) preHook(b *strings.Builder, restoring bool) {
	switch {
	case f.PreHook == "":
	case restoring:
		fmt.Fprintf(b, "run_hook %s\n", Quote(f.PreHook))
	default:
		fmt.Fprintf(b, "if [ ! -d %s ]; then run_hook %s; fi\n", Quote(f.PreHook), Quote(f.PreHook))
	}
}
