// Package lighthouse holds the suite's Lighthouse check of the public site
// (lighthouse_test.go) and the Node runner it drives (run.mjs). It has no
// code of its own: the test serves the built site through the real portal
// and judges what Lighthouse reports.
package lighthouse
