package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ziad/cpra"
	"github.com/ziad/cpra/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "store-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.db")

	f, err := store.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	// One Write is one transaction: all of it survives a crash, or none.
	if err := f.Write([]cpra.Change{
		{Key: []byte("m\x00web"), Value: []byte("down since 12:00")},
		{Key: []byte("m\x00db"), Value: []byte("paused")},
	}); err != nil {
		fmt.Println(err)
	}
	// A nil Value deletes.
	if err := f.Write([]cpra.Change{{Key: []byte("m\x00db")}}); err != nil {
		fmt.Println(err)
	}
	f.Close()

	// After a restart:
	f, err = store.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	err = f.Load(func(key, value []byte) error {
		fmt.Printf("%q: %s\n", key, value)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	st, _ := f.Stats()
	fmt.Println(st.Records, "record")
	// Output:
	// "m\x00web": down since 12:00
	// 1 record
}

func ExampleFresh() {
	dir, err := os.MkdirTemp("", "store-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.db")
	if err := os.WriteFile(path, []byte("not a store"), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	// A damaged file is refused, and left alone...
	_, err = store.Open(path)
	var corrupt *store.CorruptError
	if errors.As(err, &corrupt) {
		fmt.Println("corrupt at offset", corrupt.Offset, "-", corrupt.Err)
	}

	// ...unless asked to start fresh: then it is moved aside.
	f, err := store.Open(path, store.Fresh())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	aside, cause := f.MovedAside()
	fmt.Println("moved aside:", strings.HasPrefix(aside, path+".aside-"), errors.As(cause, &corrupt))
	st, _ := f.Stats()
	fmt.Println(st.Records, "records")
	// Output:
	// corrupt at offset 0 - not a store file (no store header)
	// moved aside: true true
	// 0 records
}
