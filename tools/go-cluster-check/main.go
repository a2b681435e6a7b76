// go-cluster-check drives an IrisDB cluster with go-redis's stock
// ClusterClient, as an application would: it learns the topology from a seed
// node (CLUSTER SLOTS), writes and reads keys spread over every slot range,
// runs MSET/MGET within one hash tag, expects CROSSSLOT across tags, and
// optionally reads from replicas (READONLY). It exits 0 only if every check
// passed; each failure is printed on stderr.
//
//	go-cluster-check -seed 127.0.0.1:7000 [-seed ...] [-keys 1000] [-replica-reads]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

type seeds []string

func (s *seeds) String() string     { return strings.Join(*s, ",") }
func (s *seeds) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var addrs seeds
	flag.Var(&addrs, "seed", "address of a cluster node (repeatable)")
	keys := flag.Int("keys", 1000, "number of keys to write and read back")
	replicaReads := flag.Bool("replica-reads", false, "also read every key from replicas (READONLY)")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline for the whole run")
	flag.Parse()
	if len(addrs) == 0 {
		fmt.Fprintln(os.Stderr, "at least one -seed is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, addrs, *keys, *replicaReads); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addrs []string, n int, replicaReads bool) error {
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: 8})
	defer client.Close()

	slots, err := client.ClusterSlots(ctx).Result()
	if err != nil {
		return fmt.Errorf("CLUSTER SLOTS: %w", err)
	}
	covered := 0
	masters := map[string]bool{}
	for _, s := range slots {
		covered += s.End - s.Start + 1
		if len(s.Nodes) > 0 {
			masters[s.Nodes[0].Addr] = true
		}
	}
	if covered != 16384 {
		return fmt.Errorf("CLUSTER SLOTS covers %d slots, want 16384", covered)
	}

	for i := 0; i < n; i++ {
		if err := client.Set(ctx, key(i), value(i), 0).Err(); err != nil {
			return fmt.Errorf("SET %s: %w", key(i), err)
		}
	}
	for i := 0; i < n; i++ {
		got, err := client.Get(ctx, key(i)).Result()
		if err != nil {
			return fmt.Errorf("GET %s: %w", key(i), err)
		}
		if got != value(i) {
			return fmt.Errorf("GET %s = %q, want %q", key(i), got, value(i))
		}
	}

	// Every primary holds some of the keys: the client really routed by slot.
	perMaster := map[string]int64{}
	err = client.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		size, err := m.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		perMaster[m.Options().Addr] = size
		return nil
	})
	if err != nil {
		return fmt.Errorf("DBSIZE on the primaries: %w", err)
	}
	for addr := range masters {
		if perMaster[addr] == 0 {
			return fmt.Errorf("primary %s holds no keys (per primary: %v)", addr, perMaster)
		}
	}

	if err := client.MSet(ctx, "{go}a", "1", "{go}b", "2").Err(); err != nil {
		return fmt.Errorf("MSET within one hash tag: %w", err)
	}
	vals, err := client.MGet(ctx, "{go}a", "{go}b", "{go}missing").Result()
	if err != nil {
		return fmt.Errorf("MGET within one hash tag: %w", err)
	}
	if fmt.Sprint(vals) != "[1 2 <nil>]" {
		return fmt.Errorf("MGET within one hash tag = %v", vals)
	}
	err = client.MGet(ctx, "{go}a", "{other}b").Err()
	if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		return fmt.Errorf("MGET across hash tags: got %v, want a CROSSSLOT error", err)
	}

	if replicaReads {
		ro := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: 8, ReadOnly: true, RouteRandomly: false})
		defer ro.Close()
		for i := 0; i < n; i++ {
			got, err := ro.Get(ctx, key(i)).Result()
			if errors.Is(err, redis.Nil) {
				// A replica may lag behind an acknowledged write only if minSyncReplicas is 0.
				return fmt.Errorf("replica GET %s: missing", key(i))
			}
			if err != nil {
				return fmt.Errorf("replica GET %s: %w", key(i), err)
			}
			if got != value(i) {
				return fmt.Errorf("replica GET %s = %q, want %q", key(i), got, value(i))
			}
		}
	}

	fmt.Printf("ok: %d keys over %d primaries %v\n", n, len(masters), perMaster)
	return nil
}

func key(i int) string   { return fmt.Sprintf("go:%d", i) }
func value(i int) string { return fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i%17)) }
