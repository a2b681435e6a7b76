package iris

// Runs against a real local cluster started by test/integration/clients-go.test.ts, which passes
// the addresses in the environment; skipped without them.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond) // polling interval of a bounded wait
	}
}

type ackLog struct {
	mu    sync.Mutex
	acked map[string]string
	at    map[string]time.Time
}

func (a *ackLog) add(k, v string) {
	a.mu.Lock()
	a.acked[k], a.at[k] = v, time.Now()
	a.mu.Unlock()
}

func (a *ackLog) countSince(prefix string, since time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k, at := range a.at {
		if strings.HasPrefix(k, prefix) && at.After(since) {
			n++
		}
	}
	return n
}

func TestAgainstLocalCluster(t *testing.T) {
	nodes := os.Getenv("IRISDB_TEST_NODES")
	if nodes == "" {
		t.Skip("IRISDB_TEST_NODES not set (the mocha test clients-go starts a local cluster)")
	}
	addrs := strings.Split(nodes, ",")
	urls := strings.Split(os.Getenv("IRISDB_TEST_HTTP"), ",")
	victimPid, _ := strconv.Atoi(os.Getenv("IRISDB_TEST_VICTIM_PID"))
	victimAddr := os.Getenv("IRISDB_TEST_VICTIM_ADDR")
	ctx := context.Background()

	var mu sync.Mutex
	opened := map[string]bool{}
	c := New(Options{Addrs: addrs, CommandTimeout: 500 * time.Millisecond, Hooks: Hooks{OnBreakerStateChange: func(node string, from, to BreakerState) {
		mu.Lock()
		if to == Open {
			opened[node] = true
		}
		mu.Unlock()
	}}})
	defer c.Close()

	// The typed calls.
	if err := c.Set(ctx, "go:a", "1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Get(ctx, "go:a"); err != nil || !ok || v != "1" {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	if _, err := c.IncrBy(ctx, "go:a", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IncrBy(ctx, "go:nan", 1); err != nil {
		t.Fatal(err)
	}
	_ = c.Set(ctx, "go:s", "x", 0)
	_, err := c.IncrBy(ctx, "go:s", 1)
	if e, ok := err.(*Error); !ok || e.Outcome != AppliedError || e.Attempts != 1 {
		t.Fatalf("INCRBY on a non-number: %v", err)
	}
	waitUntil(t, "an eventual read to see the write", 10*time.Second, func() bool {
		v, err := c.DoWith(ctx, Eventual, "get", "go:a")
		return err == nil && v == "2"
	})
	h, err := NewHTTP(HTTPOptions{URLs: urls})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := h.Put(ctx, []byte("go:h"), []byte("one"), PutOptions{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Put(ctx, []byte("go:h"), []byte("two"), PutOptions{IfVersion: ver + 1000}); err == nil || err.(*Error).Err.(*HTTPError).Status != 412 {
		t.Fatalf("CAS with a wrong version: %v", err)
	}
	if it, ok, err := h.Get(ctx, []byte("go:h"), Strong); err != nil || !ok || string(it.Value) != "one" || it.Version != ver || it.ExpiresAt == 0 {
		t.Fatalf("strong get: %+v %v %v", it, ok, err)
	}
	res, err := h.Batch(ctx, []BatchOp{{Op: "put", Key: []byte("{gb}1"), Value: []byte{0, 255}}, {Op: "get", Key: []byte("{gb}1")}}, "")
	if err != nil || !res[1].Found || string(res[1].Item.Value) != "\x00\xff" {
		t.Fatalf("batch: %+v %v", res, err)
	}
	for i := 0; i < 20; i++ {
		if _, err := h.Put(ctx, []byte(fmt.Sprintf("go:scan:%d", i)), []byte("v"), PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	if err := h.Scan(ctx, []byte("go:scan:"), 6, "", func(Item) bool { seen++; return true }); err != nil || seen != 20 {
		t.Fatalf("scan: %d %v", seen, err)
	}

	if victimPid == 0 {
		return
	}
	// A hash tag served by the victim, so one writer hits the shard that fails over.
	tag := ""
	for i := 0; tag == ""; i++ {
		if n, err := c.NodeOf(ctx, fmt.Sprintf("{t%d}", i)); err == nil && n == victimAddr {
			tag = fmt.Sprintf("{t%d}", i)
		}
	}
	log := &ackLog{acked: map[string]string{}, at: map[string]time.Time{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	write := func(prefix string, w int) {
		defer wg.Done()
		for seq := 0; seq < 100000; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			k, v := fmt.Sprintf("%s:%d:%d", prefix, w, seq), fmt.Sprintf("v%d", seq)
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := c.Set(cctx, k, v, 0); err == nil {
				log.add(k, v)
			} else {
				time.Sleep(10 * time.Millisecond) // error pacing in the load
			}
			cancel()
		}
	}
	for w := 0; w < 3; w++ {
		wg.Add(2)
		go write("go:kill", w)
		go write("go:kill:"+tag, w)
	}
	waitUntil(t, "the load to get going", 30*time.Second, func() bool { return log.countSince("go:kill:"+tag, time.Time{}) >= 100 })
	if err := syscall.Kill(victimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	waitUntil(t, "writes to the killed primary's slots to resume", 30*time.Second, func() bool { return log.countSince("go:kill:"+tag, killedAt.Add(100*time.Millisecond)) >= 100 })
	waitUntil(t, "the breaker of "+victimAddr+" to have opened", 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return opened[victimAddr] })
	waitUntil(t, "the breaker of "+victimAddr+" to close once the node is back", 90*time.Second, func() bool { return c.BreakerStates()[victimAddr] == Closed })
	close(stop)
	wg.Wait()

	check := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer check.Close()
	missing := 0
	for k, v := range log.acked {
		got, err := check.Get(ctx, k).Result()
		if err != nil || got != v {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged %s=%s, read %q %v", k, v, got, err)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes not readable", missing, len(log.acked))
	}
	t.Logf("%d acknowledged writes, all readable", len(log.acked))
}
