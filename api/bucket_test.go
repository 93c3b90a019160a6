package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"portal/access"
	"portal/account"
	"portal/portaltest"
)

// TestOriginalsInBucket runs an upload and its download through the API
// with the originals in a bucket of the real SeaweedFS: the file reaches
// the bucket under its hash, nothing else stays there, and the download
// streams it back through the access-checked handler; a member who may not
// see the record gets 404, not the file.
func TestOriginalsInBucket(t *testing.T) {
	p := portaltest.Start(t, portaltest.Options{S3: true, SecretRate: 1000})
	u := p.SeedUser(t, account.RoleMember, "victim-identification")
	c := p.NewClient(t)
	c.Login(u.Email, u.Password, u.TOTPSecret, time.Now())
	text := "# Synthetic bucket record\n\nStored in the bucket, read through the portal.\n"
	resp, body := c.Upload("POST", "/api/research", docMeta("Synthetic bucket record", []string{"victim-identification"}, access.Amber), "b.md", []byte(text))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var d docResp
	decode(t, body, &d)

	weed, err := portaltest.Weed.Get()
	if err != nil {
		t.Fatal(err)
	}
	s3, err := weed.Client()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for o := range s3.ListObjects(t.Context(), p.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	shard, hash, _ := strings.Cut(strings.Join(keys, ","), "/")
	if len(keys) != 1 || len(hash) != 64 || hash[:2] != shard {
		t.Fatalf("bucket holds %q, want the one file under its hash", keys)
	}

	resp, body = c.Do("GET", "/api/research/"+d.ID+"/download", nil)
	if resp.StatusCode != http.StatusOK || string(body) != text {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	other := p.SeedUser(t, account.RoleMember)
	oc := p.NewClient(t)
	oc.Login(other.Email, other.Password, other.TOTPSecret, time.Now())
	if resp, _ := oc.Do("GET", "/api/research/"+d.ID+"/download", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("download by a member outside the record's group: %d, want 404", resp.StatusCode)
	}
}
