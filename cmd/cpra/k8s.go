package main

import "github.com/ziad/cpra/intervene/k8s"

// The command's monitors files may use the Kubernetes interventions
// (k8s_rollout_restart, k8s_scale); the library's loader knows them only
// when a program registers them.
func init() { k8s.Register() }
