package intervene_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/ziad/cpra/intervene"
)

// A service that is down under load gets two more replicas per attempt, up
// to ten; the engine's policy decides how often that may happen.
func ExampleDockerScale() {
	r, err := intervene.DockerScale("checkout-api", intervene.WithAddReplicas(2, 10))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r)
	// Output: intervene.DockerScale(checkout-api add=2 max=10)
}

// A container that runs out of memory gets a larger limit, with the swap
// limit raised along (Docker refuses memory above the memory+swap limit).
func ExampleDockerUpdate() {
	r, err := intervene.DockerUpdate("/checkout-worker",
		intervene.WithMemory(2<<30), intervene.WithMemorySwap(4<<30), intervene.WithCPUs(1.5))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r)
	_, err = intervene.DockerUpdate("checkout-worker")
	fmt.Println(errors.Is(err, intervene.ErrConfig))
	// Output:
	// intervene.DockerUpdate(checkout-worker cpus=1.5 memory=2147483648 memory_swap=4294967296)
	// true
}
