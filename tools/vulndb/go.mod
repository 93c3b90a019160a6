module portal/tools/vulndb

go 1.26.8

require golang.org/x/mod v0.43.0

// The vulnerability data (data/osv of golang.org/x/vulndb), read as files, not
// imported: `go mod tidy` would drop this requirement, so this module is not
// tidied. go.sum pins the data's hash; `go mod download` checks it.
require golang.org/x/vulndb v0.0.0-20261105234957-e22db6528018
