package reprotest

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// The process helpers find a real process by its argv and by its
// environment, and see it go.
func TestMarkedProcesses(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc")
	}
	mark := fmt.Sprintf("reprotest-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command("sh", "-c", "read x", mark) // mark is $0; read waits on stdin, in sh itself
	cmd.Env = append(os.Environ(), "REPROTEST_MARK="+mark)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	argv := func() []int { return ArgvMarked(mark) }
	env := func() []int { return EnvMarked("REPROTEST_MARK=" + mark) }
	if !Await(argv, true, 10*time.Second) || !slices.Contains(argv(), pid) {
		t.Fatalf("ArgvMarked = %v, want %d", argv(), pid)
	}
	if got := env(); !slices.Contains(got, pid) {
		t.Errorf("EnvMarked = %v, want %d", got, pid)
	}
	if got := EnvMarked("REPROTEST_MARK=" + mark[:len(mark)-1]); len(got) > 0 {
		t.Errorf("EnvMarked matches a prefix of the entry: %v", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !Await(argv, false, 10*time.Second) || !Await(env, false, 10*time.Second) {
		t.Errorf("still listed after the process ended:%s", Describe(argv()))
	}
}

// WriteDemo with Register adds a provider module to the miniature.
func TestWriteDemoRegisters(t *testing.T) {
	dir := WriteDemo(t, map[string]string{"Extra.py": "class Extra: pass\n"}, Register("Extra", "Extra"))
	init, err := os.ReadFile(dir + "/g4f/Provider/__init__.py")
	if err != nil {
		t.Fatal(err)
	}
	if want := Register("Extra", "Extra"); !slices.Equal([]byte(want), init[len(init)-len(want):]) {
		t.Errorf("__init__.py does not end with the registration:\n%s", init)
	}
	if _, err := os.Stat(dir + "/g4f/Provider/Extra.py"); err != nil {
		t.Error(err)
	}
	EmptyDir(t, t.TempDir())
}
