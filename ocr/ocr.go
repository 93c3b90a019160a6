// Package ocr reads the text of a page image with Tesseract, run as a
// separate process under limits: a time limit (the context and a CPU-time
// rlimit), an address-space limit, no network (its own network namespace
// where the kernel allows one), an empty environment, and a private
// temporary directory that holds only its input. It is how the research
// library reads scanned PDF pages, which have no text layer.
package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnavailable reports that Tesseract (or prlimit, which applies the
// limits) is not installed.
var ErrUnavailable = errors.New("ocr: tesseract is not installed")

// Options configure a Reader. The zero value gives the defaults.
type Options struct {
	// Timeout bounds one page (default 90 s).
	Timeout time.Duration
	// MemoryBytes caps the process's address space (default 1 GiB).
	MemoryBytes int64
	// Tesseract and Prlimit are the programs' paths (default: found on
	// PATH).
	Tesseract, Prlimit string
	Logger             *slog.Logger
}

// Defaults for Options.
const (
	DefaultTimeout     = 90 * time.Second
	DefaultMemoryBytes = 1 << 30
	// maxOutput bounds the text read back from one page.
	maxOutput = 1 << 20
)

// Reader recognises page images. It is safe for concurrent use, but the
// research library runs one page at a time.
type Reader struct {
	opts Options
	log  *slog.Logger

	netnsOnce sync.Once
	netns     bool // whether processes start in a network namespace of their own
}

// New returns a Reader, or ErrUnavailable when Tesseract or prlimit is
// missing.
func New(opts Options) (*Reader, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MemoryBytes <= 0 {
		opts.MemoryBytes = DefaultMemoryBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	for _, prog := range []struct {
		path *string
		name string
	}{{&opts.Tesseract, "tesseract"}, {&opts.Prlimit, "prlimit"}} {
		if *prog.path != "" {
			continue
		}
		path, err := exec.LookPath(prog.name)
		if err != nil {
			return nil, fmt.Errorf("%w (%s: %v)", ErrUnavailable, prog.name, err)
		}
		*prog.path = path
	}
	return &Reader{opts: opts, log: opts.Logger}, nil
}

// Languages maps a record's language (package research's codes) to
// Tesseract's language data: the record's own, with English, since
// reports often quote it; all four for other languages. Fewer languages
// read faster and better.
func Languages(lang string) string {
	switch lang {
	case "en":
		return "eng"
	case "fr":
		return "fra+eng"
	case "es":
		return "spa+eng"
	case "ar":
		return "ara+eng"
	}
	return "eng+fra+spa+ara"
}

// Recognise returns the text Tesseract reads on the PNG image png in the
// given languages (Languages).
func (r *Reader) Recognise(ctx context.Context, png []byte, langs string) (string, error) {
	for _, l := range strings.Split(langs, "+") {
		if len(l) != 3 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "" {
			return "", fmt.Errorf("ocr: bad language %q", l)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "portal-ocr-")
	if err != nil {
		return "", fmt.Errorf("ocr: temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "page.png")
	if err := os.WriteFile(in, png, 0o600); err != nil {
		return "", fmt.Errorf("ocr: write page: %w", err)
	}

	r.netnsOnce.Do(func() { r.netns = r.probeNetns() })
	out, err := r.run(ctx, dir, r.netns, in, langs)
	if err != nil {
		return "", err
	}
	return string(bytes.ToValidUTF8(out, []byte("\uFFFD"))), nil
}

func (r *Reader) command(ctx context.Context, dir string, netns bool, args ...string) *exec.Cmd {
	cpu := strconv.Itoa(int(r.opts.Timeout/time.Second) + 1)
	full := append([]string{
		"--as=" + strconv.FormatInt(r.opts.MemoryBytes, 10),
		"--cpu=" + cpu,
		// It writes nothing: its output comes back on standard output.
		"--fsize=0",
		"--nofile=64",
		"--nproc=256",
		"--", r.opts.Tesseract,
	}, args...)
	cmd := exec.CommandContext(ctx, r.opts.Prlimit, full...)
	cmd.Dir = dir
	// One thread: the portal shares its cores; and nothing of the
	// portal's environment (no keys, no proxies) reaches the process.
	cmd.Env = []string{"OMP_THREAD_LIMIT=1", "HOME=" + dir, "TMPDIR=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if netns {
		cmd.SysProcAttr.Cloneflags = netnsFlags()
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = idMappings()
	}
	// Kill the whole process group when the context ends.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (r *Reader) run(ctx context.Context, dir string, netns bool, in, langs string) ([]byte, error) {
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, 4096
	cmd := r.command(ctx, dir, netns, in, "stdout", "-l", langs, "--psm", "3")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ocr: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("ocr: tesseract: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	r.log.Debug("page recognised", "langs", langs, "bytes", stdout.Len(), "duration", time.Since(start), "netns", netns)
	return stdout.Bytes(), nil
}

// probeNetns reports whether a process can be started in a network
// namespace of its own: as root, or through a user namespace where the
// kernel allows unprivileged ones. Without, recognition still runs, with
// no network configuration in its environment, and the log says so once.
func (r *Reader) probeNetns() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := r.command(ctx, os.TempDir(), true, "--version")
	if err := cmd.Run(); err != nil {
		r.log.Warn("ocr: tesseract runs without a network namespace of its own", "err", err)
		return false
	}
	return true
}

// limitedBuffer keeps the first max bytes written to it and drops the
// rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
