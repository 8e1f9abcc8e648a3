package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDatabaseFilesPrivate: wherever `storage sqlite <path>` puts the
// database, its directory is created with mode 0700 and the database and
// its WAL and SHM files with 0600, whatever the umask lets others read;
// a database file left readable by an older version is narrowed.
func TestDatabaseFilesPrivate(t *testing.T) {
	dir := t.TempDir()
	older := filepath.Join(dir, "older")
	if err := os.MkdirAll(older, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(older, "hookgate.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{filepath.Join(dir, "new", "sub", "hookgate.db"), filepath.Join(older, "hookgate.db")} {
		caddyfile := strings.ReplaceAll(crashCaddyfile, "DIR/hookgate.db", db)
		caddyfile = strings.ReplaceAll(caddyfile, "DIR", dir)
		p := startCaddy(t, filepath.Base(filepath.Dir(db)), dir, caddyfile)
		if id, err := sendHook(p.base, 1); err != nil || id == "" {
			t.Fatalf("hook: %q %v", id, err)
		}
		want := map[string]os.FileMode{db: 0o600, db + "-wal": 0o600, db + "-shm": 0o600}
		if !strings.Contains(db, "older") {
			want[filepath.Dir(db)] = 0o700 | os.ModeDir
			want[filepath.Dir(filepath.Dir(db))] = 0o700 | os.ModeDir
		}
		for file, mode := range want {
			fi, err := os.Stat(file)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			if fi.Mode() != mode {
				t.Errorf("%s: mode %v, want %v", file, fi.Mode(), mode)
			}
		}
		p.stop()
	}
}
