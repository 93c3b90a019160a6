// Command oldnet is the canary of the vulnerability check: it calls html.Parse
// of golang.org/x/net v0.30.0, which GO-2024-3333 affects (fixed in v0.33.0),
// so a database that works must report it. Never built into anything.
package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/net/html"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>canary</p>"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(doc.FirstChild != nil)
}
