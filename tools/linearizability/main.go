// Command linearizability checks a recorded history of per-key register
// operations (read, write, compare-and-set) with Porcupine and reports, as one
// JSON line on stdout, whether every key's history is linearizable. Built by
// scripts/porcupine.sh; driven by test/support/history-check.ts.
//
// Input (a file or stdin): {"ops": [Op, ...]}, see the Op type. Results:
// "ok" (the reply was seen), "fail" (the operation certainly did not take
// effect: dropped), "info" (unknown: a timeout or a lost connection; the
// operation may take effect at any time after its call, so it is checked
// as returning at the end of time). Reads with level "eventual" are not part
// of the linearizability check: they are only checked to return a value some
// write to that key carried (or nothing).
//
// Exit status: 0 linearizable, 1 not linearizable (or an eventual read of a
// value never written), 2 bad input or the check timed out.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// Op is one recorded operation. Values are strings; a missing key is null.
type Op struct {
	Client int     `json:"client"`
	Key    string  `json:"key"`
	F      string  `json:"f"`               // read | write | cas
	Value  *string `json:"value,omitempty"` // write: the value written; read: the value returned (null = no key)
	From   *string `json:"from,omitempty"`  // cas: expected value (null = key absent)
	To     string  `json:"to,omitempty"`    // cas: new value
	// Applied is the cas outcome when Result is "ok": false = compare failed.
	Applied bool   `json:"applied,omitempty"`
	Result  string `json:"result"`          // ok | fail | info
	Level   string `json:"level,omitempty"` // reads: strong | default | eventual
	Node    string `json:"node,omitempty"`  // where the request was sent (reporting only)
	Call    int64  `json:"call"`            // invocation time, ns (any monotonic origin)
	Return  int64  `json:"return"`          // completion time, ns (ignored for info)
}

type history struct {
	Ops []Op `json:"ops"`
}

// register state: absent or a value.
type reg struct {
	present bool
	value   string
}

type input struct {
	f       string
	value   reg // write value or cas "to"
	from    reg // cas
	unknown bool
}

type output struct {
	read    reg
	applied bool
}

func optReg(s *string) reg {
	if s == nil {
		return reg{}
	}
	return reg{present: true, value: *s}
}

func (r reg) String() string {
	if !r.present {
		return "nil"
	}
	return fmt.Sprintf("%q", r.value)
}

var model = porcupine.Model{
	Init: func() interface{} { return reg{} },
	Step: func(state, in, out interface{}) (bool, interface{}) {
		s := state.(reg)
		i := in.(input)
		o := out.(output)
		switch i.f {
		case "read":
			return o.read == s, s
		case "write":
			return true, i.value
		case "cas":
			if i.unknown {
				// Either outcome is possible; the compare decides.
				if s == i.from {
					return true, i.value
				}
				return true, s
			}
			if o.applied {
				return s == i.from, i.value
			}
			return s != i.from, s
		}
		return false, s
	},
	DescribeOperation: func(in, out interface{}) string {
		i := in.(input)
		o := out.(output)
		switch i.f {
		case "read":
			return "read -> " + o.read.String()
		case "write":
			if i.unknown {
				return "write " + i.value.String() + " (unknown)"
			}
			return "write " + i.value.String()
		default:
			res := fmt.Sprintf("%v", o.applied)
			if i.unknown {
				res = "unknown"
			}
			return fmt.Sprintf("cas %s -> %s : %s", i.from, i.value, res)
		}
	},
	DescribeState: func(state interface{}) string { return state.(reg).String() },
}

type report struct {
	Linearizable  bool     `json:"linearizable"`
	Result        string   `json:"result"` // ok | illegal | unknown (timeout)
	Keys          int      `json:"keys"`
	Ops           int      `json:"ops"`
	Checked       int      `json:"checked"`
	FailingKey    string   `json:"failingKey,omitempty"`
	Visualization string   `json:"visualization,omitempty"`
	EventualReads int      `json:"eventualReads"`
	EventualStale int      `json:"eventualStale"`
	NeverWritten  []string `json:"neverWritten,omitempty"`
	Error         string   `json:"error,omitempty"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func main() {
	vizDir := flag.String("viz-dir", "", "directory for an HTML visualization of a failing key")
	timeout := flag.Duration("timeout", 60*time.Second, "time limit per key (0 = none)")
	flag.Parse()
	var src io.Reader = os.Stdin
	if flag.NArg() > 0 && flag.Arg(0) != "-" {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fail(err)
		}
		defer f.Close()
		src = f
	}
	var h history
	dec := json.NewDecoder(src)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		fail(fmt.Errorf("history: %w", err))
	}
	rep, err := check(h, *vizDir, *timeout)
	if err != nil {
		fail(err)
	}
	emit(rep)
	switch {
	case rep.Result == "unknown":
		os.Exit(2)
	case !rep.Linearizable || len(rep.NeverWritten) > 0:
		os.Exit(1)
	}
}

func check(h history, vizDir string, timeout time.Duration) (report, error) {
	rep := report{Linearizable: true, Result: "ok", Ops: len(h.Ops)}
	byKey := map[string][]porcupine.Operation{}
	written := map[string]map[string]bool{}
	var eventual []Op
	for idx, op := range h.Ops {
		if op.Result != "ok" && op.Result != "fail" && op.Result != "info" {
			return rep, fmt.Errorf("op %d: result %q is not ok, fail or info", idx, op.Result)
		}
		if written[op.Key] == nil {
			written[op.Key] = map[string]bool{}
		}
		switch op.F {
		case "write":
			if op.Value == nil {
				return rep, fmt.Errorf("op %d: write without a value", idx)
			}
			written[op.Key][*op.Value] = true
		case "cas":
			written[op.Key][op.To] = true
		case "read":
		default:
			return rep, fmt.Errorf("op %d: f %q is not read, write or cas", idx, op.F)
		}
	}
	for _, op := range h.Ops {
		if op.F == "read" && op.Level == "eventual" {
			if op.Result == "ok" {
				eventual = append(eventual, op)
			}
			continue
		}
		if op.Result == "fail" || (op.F == "read" && op.Result == "info") {
			continue // never took effect / observed nothing
		}
		in := input{f: op.F, unknown: op.Result == "info"}
		out := output{applied: op.Applied}
		switch op.F {
		case "write":
			in.value = optReg(op.Value)
		case "cas":
			in.from = optReg(op.From)
			in.value = reg{present: true, value: op.To}
		case "read":
			out.read = optReg(op.Value)
		}
		ret := op.Return
		if in.unknown {
			ret = math.MaxInt64 / 2 // may take effect at any time after the call
		}
		byKey[op.Key] = append(byKey[op.Key], porcupine.Operation{
			ClientId: op.Client, Input: in, Call: op.Call, Output: out, Return: ret,
		})
		rep.Checked++
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rep.Keys = len(keys)
	for _, k := range keys {
		res, info := porcupine.CheckOperationsVerbose(model, byKey[k], timeout)
		if res == porcupine.Ok {
			continue
		}
		rep.Linearizable = false
		rep.FailingKey = k
		if res == porcupine.Illegal {
			rep.Result = "illegal"
		} else {
			rep.Result = "unknown"
		}
		if vizDir != "" {
			if err := os.MkdirAll(vizDir, 0o755); err != nil {
				return rep, err
			}
			path := filepath.Join(vizDir, "key-"+unsafeName.ReplaceAllString(k, "_")+".html")
			if err := porcupine.VisualizePath(model, info, path); err != nil {
				return rep, fmt.Errorf("visualization: %w", err)
			}
			rep.Visualization = path
		}
		break
	}
	for _, op := range eventual {
		rep.EventualReads++
		if op.Value == nil {
			continue
		}
		if !written[op.Key][*op.Value] {
			rep.NeverWritten = append(rep.NeverWritten, fmt.Sprintf("%s=%q", op.Key, *op.Value))
		}
	}
	rep.EventualStale = countStale(h.Ops, eventual)
	return rep, nil
}

// countStale counts eventual reads that returned something other than the
// value of the last write acknowledged before the read was invoked (a lower
// bound on staleness, for the report only).
func countStale(all []Op, eventual []Op) int {
	stale := 0
	for _, r := range eventual {
		var last *Op
		for i := range all {
			w := &all[i]
			if w.Key != r.Key || w.Result != "ok" || w.Return >= r.Call {
				continue
			}
			if w.F == "write" || (w.F == "cas" && w.Applied) {
				if last == nil || w.Return > last.Return {
					last = w
				}
			}
		}
		if last == nil {
			continue
		}
		want := last.To
		if last.F == "write" {
			want = *last.Value
		}
		if r.Value == nil || *r.Value != want {
			stale++
		}
	}
	return stale
}

func emit(rep report) {
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
}

func fail(err error) {
	emit(report{Result: "error", Error: err.Error()})
	os.Exit(2)
}
