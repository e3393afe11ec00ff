// Package k8s holds CPRA's Kubernetes remediations: a rollout restart of a
// Deployment, StatefulSet or DaemonSet, done the way kubectl rollout restart
// does it, and scaling a Deployment or StatefulSet through its scale
// subresource, to a replica count or by a step up to a ceiling.
//
// It is a Go module of its own (github.com/ziad/cpra/intervene/k8s), so
// that programs embedding CPRA without Kubernetes never download
// k8s.io/client-go.
//
// # Remediators
//
//   - [RolloutRestart] sends the strategic merge patch that sets the pod
//     template's kubectl.kubernetes.io/restartedAt annotation to the
//     current time: the workload's controller then replaces its pods as in
//     any rollout, honouring the workload's update strategy. A paused
//     Deployment is refused, as kubectl refuses it.
//   - [Scale] reads the workload's scale subresource and writes it back
//     with the new replica count; the resource version it read makes the
//     write fail if the workload changed meanwhile, and the read and write
//     are then made once more. A step up that finds the workload at its
//     ceiling fails with an error wrapping [intervene.ErrScaleLimit], so the
//     engine reports the monitor red rather than a repair that did nothing.
//
// Both make one attempt per call, honour their context and are safe for
// concurrent use. How often they run is bounded by the engine's remediation
// policy and budgets, as for every [intervene.Remediator].
//
// # Clients
//
// A remediator takes a [Client]: one from [NewClient], which reads a
// kubeconfig file or, given no path, the in-cluster configuration of a
// pod's service account, or from [ClientFor], given a client-go
// [k8s.io/client-go/rest.Config] a program already has. The client sends
// the two or three requests the remediators need as JSON over client-go's
// authenticated transport; it does not link client-go's clientset, whose
// registration of every Kubernetes API group at start cost the cpra
// command 12 MB of resident memory.
//
// # Configuration files
//
// [Register] adds the intervention types k8s_rollout_restart and k8s_scale
// to package config's loader; the cpra command registers them. See
// [Register] for their fields.
package k8s
