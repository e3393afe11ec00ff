package k8s_test

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/intervene/k8s"
)

// A rollout restart of a Deployment, on client-go's fake clientset: the
// remediator reads the Deployment (a paused one is refused) and sends the
// patch kubectl rollout restart sends.
func ExampleRolloutRestart() {
	client := fake.NewClientset(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop"}})
	r, err := k8s.RolloutRestart(client, k8s.Deployment, "shop", "checkout")
	if err != nil {
		panic(err)
	}
	fmt.Println(r)
	if err := r.Remediate(context.Background(), intervene.Incident{Monitor: "checkout", Attempt: 1}); err != nil {
		panic(err)
	}
	for _, a := range client.Actions() {
		fmt.Print(a.GetVerb(), " ", a.GetResource().Resource)
		if p, ok := a.(k8stesting.PatchAction); ok {
			fmt.Print(" ", p.GetPatchType())
		}
		fmt.Println()
	}
	// Output:
	// k8s.RolloutRestart(deployment shop/checkout)
	// get deployments
	// patch deployments application/strategic-merge-patch+json
}
