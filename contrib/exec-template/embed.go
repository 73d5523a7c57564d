// Package exectemplate embeds the exec driver's template scripts, so
// `ottr demo` can run them from any working directory.
package exectemplate

import "embed"

// Scripts holds csr.sh, install.sh, current.sh and rollback.sh.
//
//go:embed *.sh
var Scripts embed.FS
