package iris

// A SIGSTOPped primary, against the local cluster of clients-go.test.ts:
// writes to its slots are acknowledged by the promoted replica while it is
// still stopped, and every acknowledged write is readable after SIGCONT.
// Skipped unless IRISDB_TEST_PAUSE_PID is set.

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

// stopped: state T in /proc/PID/stat.
func stopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	return strings.HasPrefix(s[strings.LastIndex(s, ")")+2:], "T")
}

func TestPausedPrimary(t *testing.T) {
	pid, _ := strconv.Atoi(os.Getenv("IRISDB_TEST_PAUSE_PID"))
	if pid == 0 {
		t.Skip("IRISDB_TEST_PAUSE_PID not set (the mocha test clients-go starts a local cluster)")
	}
	addrs := strings.Split(os.Getenv("IRISDB_TEST_NODES"), ",")
	paused := os.Getenv("IRISDB_TEST_PAUSE_ADDR")
	ctx := context.Background()
	c := New(Options{Addrs: addrs, CommandTimeout: 500 * time.Millisecond})
	defer c.Close()
	tag := ""
	for i := 0; tag == ""; i++ {
		if n, err := c.NodeOf(ctx, fmt.Sprintf("{p%d}", i)); err == nil && n == paused {
			tag = fmt.Sprintf("{p%d}", i)
		}
	}
	log := &ackLog{acked: map[string]string{}, at: map[string]time.Time{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; seq < 100000; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				k, v := fmt.Sprintf("go:pause:%s:%d:%d", tag, w, seq), fmt.Sprintf("v%d", seq)
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if err := c.Set(cctx, k, v, 0); err == nil {
					log.add(k, v)
				} else {
					time.Sleep(5 * time.Millisecond) // error pacing in the load
				}
				cancel()
			}
		}(w)
	}
	waitUntil(t, "the load to get going", 30*time.Second, func() bool { return log.countSince("go:pause:", time.Time{}) >= 100 })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	pausedAt := time.Now()
	func() {
		defer syscall.Kill(pid, syscall.SIGCONT)
		// A write to the paused shard's slots, sent after the pause and acknowledged while the old primary is still stopped.
		waitUntil(t, "a write to the paused shard acknowledged by its new primary", 30*time.Second, func() bool {
			return log.countSince("go:pause:", pausedAt.Add(600*time.Millisecond)) > 0
		})
		if !stopped(pid) {
			t.Fatal("the old primary is no longer stopped")
		}
		if st := c.BreakerStates()[paused]; st == Closed {
			t.Errorf("the paused node's breaker is %s", st)
		}
	}()
	close(stop)
	wg.Wait()
	check := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer check.Close()
	var missing int
	waitUntil(t, "every acknowledged write to be readable", 60*time.Second, func() bool {
		missing = 0
		for k, v := range log.acked {
			if got, err := check.Get(ctx, k).Result(); err != nil || got != v {
				missing++
			}
		}
		return missing == 0
	})
	t.Logf("paused primary: %d acknowledged writes, all readable", len(log.acked))
}
