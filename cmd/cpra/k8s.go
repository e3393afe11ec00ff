//go:build !nok8s

package main

import "github.com/ziad/cpra/intervene/k8s"

// The command's monitors files may use the Kubernetes interventions
// (k8s_rollout_restart, k8s_scale); the library's loader knows them only
// when a program registers them. They link client-go's REST transport and
// kubeconfig loader (not its clientset), about 4 MB of the command's memory
// at start: build with -tags nok8s to leave them out.
func init() { k8s.Register() }
