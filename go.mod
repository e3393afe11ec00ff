module github.com/ziad/cpra

go 1.25.0

require (
	github.com/Workiva/go-datastructures v1.1.5 // indirect
	github.com/mlange-42/ark v0.8.3 // indirect
	github.com/panjf2000/ants/v2 v2.12.1 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
