package action

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// waitDelay is how long a command's output is still read after it exits
// (or is killed), for descendants that keep its pipes open.
const waitDelay = 2 * time.Second

// runExec runs an exec step: no shell, its own process group, killed as a
// group when ctx ends, and when the command exits (background children
// included). It fills res and returns why the step failed, or nil.
func runExec(ctx context.Context, s *plannedStep, sc *scope, res *StepResult) *failure {
	files := &stepFiles{}
	defer files.remove()
	sc.files = files
	argv := make([]string, len(s.argv))
	for i, t := range s.argv {
		argv[i] = t.render(sc)
		if len(argv[i]) >= maxArgLength {
			sc.files = nil
			return &failure{reason: ReasonExecError, detail: fmt.Sprintf(
				"argument %d is %d bytes, over the kernel's limit of 128 KiB for one argument; its value comes from %s: pass it as {file:vars.<name>}",
				i, len(argv[i]), strings.Join(t.vars(), ", "))}
		}
	}
	sc.files = nil
	env := commandEnv(s, sc, files)
	if files.err != nil {
		return &failure{reason: ReasonExecError, detail: files.err.Error()}
	}
	dir := s.dir.render(sc)
	path, err := resolveCommand(argv[0], dir)
	if err != nil {
		return &failure{reason: ReasonExecNotFound, detail: err.Error()}
	}

	out := &cappedBuffer{}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	if cmd.Process != nil {
		// However the step ended, what it left running in the background
		// (its process group) ends with it.
		killGroup(cmd.Process)
	}
	res.Output, res.OutputTruncated = string(out.buf), out.truncated
	if cmd.ProcessState == nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &failure{reason: ReasonExecNotFound, detail: fmt.Sprintf("command %q not found: %v", argv[0], err)}
		}
		return &failure{reason: ReasonExecError, detail: fmt.Sprintf("command %q could not start: %v", argv[0], err)}
	}
	code := cmd.ProcessState.ExitCode()
	res.ExitCode = &code
	switch {
	case ctx.Err() != nil:
		return &failure{reason: ReasonInterrupted, detail: "killed"}
	case code != 0:
		return &failure{reason: ReasonExitStatus, detail: fmt.Sprintf("command %q: %s", argv[0], cmd.ProcessState)}
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return &failure{reason: ReasonExecError, detail: fmt.Sprintf("command %q: %v", argv[0], err)}
	}
	return nil
}

// resolveCommand finds the executable a command names: in PATH, unless
// the name holds a slash, in which case a relative name is taken from dir.
func resolveCommand(name, dir string) (string, error) {
	if !strings.Contains(name, "/") {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("command %q not found in PATH", name)
		}
		return path, nil
	}
	path := name
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("command %q not found: %v", name, err)
	case fi.IsDir() || fi.Mode()&0o111 == 0:
		return "", fmt.Errorf("command %q is not an executable file", name)
	}
	return name, nil
}

// envName is what is not allowed in the name part of HOOK_VAR_<NAME>.
var envName = regexp.MustCompile(`[^A-Z0-9_]`)

// commandEnv is a command's environment: the process's, the pipeline's,
// the step's, then HOOK_ACTION_ID, HOOK_PIPELINE, HOOK_HOOK and each
// variable as HOOK_VAR_<NAME> (upper-cased, other characters as _). Later
// entries win. An absent variable (nil) has none; a value over 32 KiB is
// written to one of the step's files, named by HOOK_VAR_<NAME>_FILE, so
// that a large payload never makes the command fail to start.
func commandEnv(s *plannedStep, sc *scope, files *stepFiles) []string {
	env := os.Environ()
	for k, v := range sc.env {
		env = append(env, k+"="+v)
	}
	for k, t := range s.env {
		env = append(env, k+"="+t.render(sc))
	}
	a := sc.action
	env = append(env, "HOOK_ACTION_ID="+a.ID, "HOOK_PIPELINE="+a.Pipeline, "HOOK_HOOK="+a.Hook)
	for name, v := range a.Variables {
		if v == nil {
			continue
		}
		key, value := "HOOK_VAR_"+envName.ReplaceAllString(strings.ToUpper(name), "_"), FormatValue(v)
		if len(value) > maxEnvValue {
			env = append(env, key+"_FILE="+files.write("var-"+name, []byte(value)))
			continue
		}
		env = append(env, key+"="+value)
	}
	return env
}
