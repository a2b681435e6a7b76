package iris

// Not a test of its own: the Go client's writer for `npm run bench`
// (bench/client-pause.ts), which pauses a primary while this writes keys of
// one hash tag and reads the gaps between acknowledgements it prints.
// Skipped unless IRISDB_PAUSE_WRITER_ADDRS is set.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPauseWriter(t *testing.T) {
	addrs := os.Getenv("IRISDB_PAUSE_WRITER_ADDRS")
	if addrs == "" {
		t.Skip("IRISDB_PAUSE_WRITER_ADDRS not set (run by npm run bench)")
	}
	tag := os.Getenv("IRISDB_PAUSE_WRITER_TAG")
	ms, _ := strconv.Atoi(os.Getenv("IRISDB_PAUSE_WRITER_MS"))
	c := New(Options{Addrs: strings.Split(addrs, ","), CommandTimeout: 500 * time.Millisecond})
	defer c.Close()
	var mu sync.Mutex
	lastAck := int64(0)
	acks, errs := 0, 0
	type gap struct{ From, To int64 }
	var gaps []gap
	deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; time.Now().Before(deadline); seq++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := c.Set(ctx, fmt.Sprintf("%s:go:%d:%d", tag, w, seq), "v", 0)
				cancel()
				now := time.Now().UnixMilli()
				mu.Lock()
				if err == nil {
					acks++
					if acks == 1 {
						fmt.Println("PAUSE_WRITER_READY")
					}
					if lastAck != 0 && now-lastAck > 200 {
						gaps = append(gaps, gap{lastAck, now})
					}
					lastAck = now
				} else {
					errs++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond) // error pacing in the load
				}
			}
		}(w)
	}
	wg.Wait()
	out, _ := json.Marshal(map[string]any{"acks": acks, "errors": errs, "gaps": gaps})
	fmt.Printf("PAUSE_WRITER %s\n", out)
}
