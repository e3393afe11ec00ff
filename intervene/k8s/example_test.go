package k8s_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/ziad/cpra/intervene"
	"github.com/ziad/cpra/intervene/k8s"
)

// A rollout restart of a Deployment, against a stand-in for the API server
// on loopback that prints what it is asked: the remediator reads the
// Deployment (a paused one is refused) and sends the patch kubectl rollout
// restart sends. A program in a pod would use k8s.NewClient("", "").
func ExampleRolloutRestart() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(strings.TrimSpace(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Content-Type")))
		io.WriteString(w, `{"kind":"Deployment","apiVersion":"apps/v1","spec":{"replicas":3}}`)
	}))
	defer api.Close()

	client, err := k8s.ClientFor(&rest.Config{Host: api.URL})
	if err != nil {
		panic(err)
	}
	r, err := k8s.RolloutRestart(client, k8s.Deployment, "shop", "checkout")
	if err != nil {
		panic(err)
	}
	fmt.Println(r)
	if err := r.Remediate(context.Background(), intervene.Incident{Monitor: "checkout", Attempt: 1}); err != nil {
		panic(err)
	}
	// Output:
	// k8s.RolloutRestart(deployment shop/checkout)
	// GET /apis/apps/v1/namespaces/shop/deployments/checkout
	// PATCH /apis/apps/v1/namespaces/shop/deployments/checkout?fieldManager=cpra application/strategic-merge-patch+json
}
