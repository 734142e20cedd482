package diag

import (
	"reflect"
	"testing"

	"github.com/g4fdiag/g4fdiag/repro/scan"
)

func TestTrimDumper(t *testing.T) {
	t.Parallel()
	waiting := []scan.Frame{
		{File: "/app/run.py", Line: 3, Func: "<module>"},
		{File: "/usr/lib/python3.12/selectors.py", Line: 468, Func: "select", Code: "fd_event_list = self._selector.poll(timeout, max_ev)"},
	}
	gunicorn := append(append([]scan.Frame(nil), waiting...),
		scan.Frame{File: "/venv/lib/python3.12/site-packages/gunicorn/workers/base.py", Line: 186, Func: "handle_quit", Code: "self.cfg.worker_int(self)"},
		scan.Frame{File: "/app/gunicorn.conf.py", Line: 31, Func: "worker_int", Code: "for filename, lineno, name, line in traceback.extract_stack(stack):"})
	own := append(append([]scan.Frame(nil), waiting...),
		scan.Frame{File: "/app/debug.py", Line: 9, Func: "dump", Code: "for ident, top in sys._current_frames().items():"})
	for name, frames := range map[string][]scan.Frame{"gunicorn hook": gunicorn, "own handler": own, "no dumper": waiting} {
		if got := TrimDumper(frames); !reflect.DeepEqual(got, waiting) {
			t.Errorf("%s: %+v", name, got)
		}
	}
	only := own[2:]
	if got := TrimDumper(only); !reflect.DeepEqual(got, only) {
		t.Errorf("a dumper alone is kept: %+v", got)
	}
}
