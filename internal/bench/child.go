package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"time"
)

// GeneratorEnv is the variable that, set in a child's environment, makes
// the command of Options.Generator serve bench's load generator
// (ServeGenerator).
const GeneratorEnv = "LIENTHONG_BENCH_GENERATOR"

// ServeGenerator is the child's side of the load generator: it reads the
// load from stdin, runs it, writes what the submits and then the polls
// gave to file descriptor 3 as two JSON values, and returns the exit
// code. The end of stdin (the parent gone, or ending the run) ends the
// run as --duration's end would.
func ServeGenerator(ctx context.Context, stderr io.Writer) int {
	out := os.NewFile(3, "results")
	defer out.Close() //nolint:errcheck // a pipe; the parent sees its end either way
	if err := serveGenerator(ctx, os.Stdin, out); err != nil {
		fmt.Fprintf(stderr, "lienthong bench: the load generator: %v\n", err)
		return 1
	}
	return 0
}

func serveGenerator(ctx context.Context, in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(in)
	var l load
	if err := dec.Decode(&l); err != nil {
		return fmt.Errorf("reading the load: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, io.MultiReader(dec.Buffered(), in))
		cancel()
	}()
	bodies, err := os.Open(l.Bodies)
	if err != nil {
		return err
	}
	defer bodies.Close() //nolint:errcheck // read-only
	if l.CPUProfile != "" {
		f, err := os.Create(l.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close() //nolint:errcheck // failing
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close() //nolint:errcheck // written
		}()
	}
	enc := json.NewEncoder(out)
	var subErr error
	del := generate(ctx, &l, bodies, func(s *submitted) { subErr = enc.Encode(s) })
	if subErr != nil {
		return subErr
	}
	return enc.Encode(del)
}

// errNoChild: the generator's command could not be started; the run
// falls back to the generator in this process.
var errNoChild = errors.New("the load generator's child did not start")

// childGenerate runs generate in a child process, argv with GeneratorEnv
// set, and returns what it returns and the child's CPU time (user and
// system, from its rusage; 0 where there is none). The child dies with
// this process (Pdeathsig on Linux; elsewhere the end of its stdin), and
// when ctx ends it is asked to stop and, if it does not, killed.
func childGenerate(ctx context.Context, argv []string, l *load, stderr io.Writer, onSubmitted func(*submitted)) (*delivered, time.Duration, error) {
	spec, err := json.Marshal(l)
	if err != nil {
		return nil, 0, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	defer r.Close() //nolint:errcheck // read-only
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), GeneratorEnv+"=1")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		w.Close() //nolint:errcheck // failing
		return nil, 0, err
	}
	cmd.Cancel = stdin.Close
	cmd.WaitDelay = 20 * time.Second // past countOnce's 10 s
	started, exited := make(chan error, 1), make(chan error, 1)
	go func() {
		// Pdeathsig follows the thread that started the child, not the
		// process: keep that thread for this goroutine until the child ends.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	err = <-started
	w.Close() //nolint:errcheck // the child holds its own copy
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errNoChild, err)
	}
	_, werr := stdin.Write(append(spec, '\n'))
	dec := json.NewDecoder(r)
	var (
		sub  submitted
		del  delivered
		derr error
	)
	if derr = dec.Decode(&sub); derr == nil {
		onSubmitted(&sub)
		derr = dec.Decode(&del)
	}
	if derr != nil {
		stdin.Close() //nolint:errcheck // asks the child to stop
	}
	xerr := <-exited
	cpu := childCPU(cmd.ProcessState)
	switch {
	case derr != nil:
		if werr != nil {
			derr = fmt.Errorf("handing it the load: %w", werr)
		}
		return nil, cpu, fmt.Errorf("the load generator: %w", errors.Join(derr, xerr))
	case xerr != nil && !errors.Is(xerr, ctx.Err()):
		// Ending ctx makes Wait return ctx.Err() even when the child then
		// told all it had: that is a cut run, not a failure.
		return nil, cpu, fmt.Errorf("the load generator: %w", xerr)
	}
	return &del, cpu, nil
}

// childCPU is the CPU an ended child process used, user and system (its
// rusage on Unix).
func childCPU(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}
