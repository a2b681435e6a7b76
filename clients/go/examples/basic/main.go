// A minimal program: RESP reads and writes with the retry table and breaker,
// and a strong read over HTTP. Run against `irisctl local up`:
//
//	go run ./examples/basic -nodes 127.0.0.1:7000 -http http://127.0.0.1:8000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	iris "github.com/irisdb/irisdb/clients/go"
)

func main() {
	nodes := flag.String("nodes", "127.0.0.1:7000", "comma-separated RESP addresses")
	httpURLs := flag.String("http", "http://127.0.0.1:8000", "comma-separated HTTP base URLs")
	password := flag.String("password", "", "requirePass, if set")
	flag.Parse()

	c := iris.New(iris.Options{
		Addrs:          strings.Split(*nodes, ","),
		Password:       *password,
		CommandTimeout: 500 * time.Millisecond,
		Hooks: iris.Hooks{
			OnRetry: func(cmd string, attempt int, reason string, delay time.Duration) {
				log.Printf("retry %s #%d (%s) in %s", cmd, attempt, reason, delay)
			},
			OnBreakerStateChange: func(node string, from, to iris.BreakerState) { log.Printf("breaker %s: %s -> %s", node, from, to) },
		},
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := c.Set(ctx, "greeting", "hello", time.Hour); err != nil {
		if e, ok := err.(*iris.Error); ok && e.Outcome == iris.Unknown {
			log.Fatalf("the write may or may not have happened: %v", e)
		}
		log.Fatal(err)
	}
	v, _, err := c.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("RESP:", v)

	h, err := iris.NewHTTP(iris.HTTPOptions{URLs: strings.Split(*httpURLs, ","), Password: *password})
	if err != nil {
		log.Fatal(err)
	}
	it, found, err := h.Get(ctx, []byte("greeting"), iris.Strong)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("HTTP strong:", found, string(it.Value), "version", it.Version)
}
