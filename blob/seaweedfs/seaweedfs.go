// Package seaweedfs runs a local SeaweedFS (`weed mini`) as the real
// S3-compatible server of the tests and the benchmarks: a child process
// with every listener on loopback, its data in a directory of its own, and
// a client to create the buckets the tests use. Production points
// PORTAL_BLOB_URL at the operator's bucket and never uses this package.
package seaweedfs

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"portal/blob"
	"portal/proc"
)

// FindBinary locates the weed executable: $WEED_BIN, then the project's
// copy in .tools/ (built by `make test-deps`).
func FindBinary() (string, error) {
	return proc.FindTool("WEED_BIN", "weed", false, "run `make test-deps`")
}

// Options says how to start SeaweedFS.
type Options struct {
	Binary  string // path to the weed executable
	DataDir string // holds its volumes and metadata; created if missing
	Output  io.Writer
}

// Process is one running SeaweedFS.
type Process struct {
	// Endpoint is the S3 API's host:port, AccessKey and SecretKey the
	// credentials of its one identity.
	Endpoint             string
	AccessKey, SecretKey string
	*proc.Child
}

// ports are weed mini's listeners besides S3's: each HTTP server has a
// gRPC twin, which weed would otherwise put at the HTTP port + 10000,
// where nothing guarantees a free port.
var ports = []string{
	"s3.port", "s3.port.grpc",
	"master.port", "master.port.grpc",
	"filer.port", "filer.port.grpc",
	"volume.port", "volume.port.grpc",
	"admin.port", "admin.port.grpc",
}

// Start launches `weed mini` and waits until its S3 API answers.
func Start(ctx context.Context, opts Options) (*Process, error) {
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("seaweedfs: create data dir: %w", err)
	}
	free, err := freePorts(len(ports))
	if err != nil {
		return nil, fmt.Errorf("seaweedfs: %w", err)
	}
	args := []string{"mini",
		"-dir=" + opts.DataDir,
		// -ip is what the servers advertise to each other, -ip.bind where
		// they listen: both loopback, since the default binds every
		// interface and the test server has known credentials.
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		// No listeners the tests do not use, and no report home.
		"-webdav=false", "-admin.ui=false", "-admin.port.legacy=0",
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-master.telemetry=false",
		"-s3.autoCreateBucket=false",
		// The filer's and S3's local sockets in the data directory rather
		// than /tmp; weed removes its other sockets from /tmp when it stops.
		"-filer.localSocket=" + filepath.Join(opts.DataDir, "filer.sock"),
		"-s3.localSocket=" + filepath.Join(opts.DataDir, "s3.sock"),
	}
	for i, name := range ports {
		args = append(args, fmt.Sprintf("-%s=%d", name, free[i]))
	}
	p := &Process{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(free[0])),
		AccessKey: "portaltest" + strings.ToLower(rand.Text()[:8]),
		SecretKey: rand.Text(),
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(opts.Binary, args...)
	cmd.Dir = opts.DataDir
	// weed mini makes its one S3 identity from these.
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+p.AccessKey, "AWS_SECRET_ACCESS_KEY="+p.SecretKey, "S3_BUCKET=")
	cmd.Stdout, cmd.Stderr = out, out
	if p.Child, err = proc.Start("seaweedfs", cmd); err != nil {
		return nil, err
	}
	client, err := p.Client()
	if err != nil {
		_ = p.Stop()
		return nil, err
	}
	ready := func(ctx context.Context) bool {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := client.ListBuckets(ctx)
		return err == nil
	}
	if err := p.WaitReady(ctx, 90*time.Second, ready); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// Client returns an S3 client signed with the server's credentials.
func (p *Process) Client() (*minio.Client, error) {
	return blob.NewClient(p.Config(""))
}

// Config returns the bucket configuration for bucket on this server.
func (p *Process) Config(bucket string) blob.BucketConfig {
	return blob.BucketConfig{Endpoint: p.Endpoint, Bucket: bucket, Region: "us-east-1",
		AccessKey: p.AccessKey, SecretKey: p.SecretKey}
}

// URL returns the PORTAL_BLOB_URL of bucket on this server.
func (p *Process) URL(bucket string) string {
	return "s3://" + bucket + "/?endpoint=" + p.Endpoint + "&region=us-east-1&tls=false"
}

// Env returns the environment a portal process needs for bucket.
func (p *Process) Env(bucket string) []string {
	return []string{"PORTAL_BLOB_URL=" + p.URL(bucket),
		"AWS_ACCESS_KEY_ID=" + p.AccessKey, "AWS_SECRET_ACCESS_KEY=" + p.SecretKey}
}

// MakeBucket creates a new private bucket with a unique name and returns
// the name.
func (p *Process) MakeBucket(ctx context.Context) (string, error) {
	c, err := p.Client()
	if err != nil {
		return "", err
	}
	name := "test-" + strings.ToLower(rand.Text()[:16])
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		return "", fmt.Errorf("seaweedfs: make bucket: %w", err)
	}
	return name, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago,
// below the ephemeral range's usual start so that weed's own outgoing
// connections cannot take them before it binds them.
func freePorts(n int) ([]int, error) {
	var (
		out []int
		lns []net.Listener
	)
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for port := 20000 + int(randUint16()%8000); len(out) < n && port < 32000; port++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		lns = append(lns, l)
		out = append(out, port)
	}
	if len(out) < n {
		return nil, fmt.Errorf("no %d free loopback ports", n)
	}
	return out, nil
}

func randUint16() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return uint16(b[0])<<8 | uint16(b[1])
}

// Once is the one SeaweedFS of a test binary: started by the first Get,
// in a temporary directory, and stopped by Stop (from TestMain). A missing
// binary is an error, never a reason to skip.
type Once struct {
	once sync.Once
	p    *Process
	dir  string
	err  error
}

// Get starts the server on its first call and returns it.
func (o *Once) Get() (*Process, error) {
	o.once.Do(func() {
		bin, err := FindBinary()
		if err != nil {
			o.err = err
			return
		}
		if o.dir, err = os.MkdirTemp("", "seaweedfs-"); err != nil {
			o.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out io.Writer
		if os.Getenv("SEAWEEDFS_LOG") != "" {
			out = os.Stderr
		}
		o.p, o.err = Start(ctx, Options{Binary: bin, DataDir: o.dir, Output: out})
	})
	return o.p, o.err
}

// Stop stops the server, if started, and removes its data.
func (o *Once) Stop() {
	if o.p != nil {
		_ = o.p.Stop()
	}
	if o.dir != "" {
		os.RemoveAll(o.dir)
	}
}
