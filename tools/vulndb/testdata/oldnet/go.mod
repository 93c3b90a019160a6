module oldnet

go 1.26.8

require golang.org/x/net v0.30.0
