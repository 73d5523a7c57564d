package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ottr-dev/ottr"
)

const masterKeyFile = "master.key"

// sealer returns the Sealer for every secret Ottr keeps, under the master
// key from OTTR_MASTER_KEY or, failing that, data_dir/master.key (created
// with mode 0600 on first use). Replicas sharing one PostgreSQL database
// must share the key: give each the same OTTR_MASTER_KEY.
func (a *app) sealer() (*ottr.Sealer, error) {
	k, err := a.masterKey()
	if err != nil {
		return nil, err
	}
	return ottr.NewSealer(k)
}

// masterKey reads (or, in a data directory, first creates) the master key.
func (a *app) masterKey() ([]byte, error) {
	if v := a.getenv("OTTR_MASTER_KEY"); v != "" {
		k, err := ottr.ParseMasterKey(v)
		if err != nil {
			return nil, ottr.Errorf(ottr.EINVALID, "OTTR_MASTER_KEY: %s", ottr.ErrorMessage(err))
		}
		return k, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if c.DataDir == "" {
		return nil, ottr.Errorf(ottr.EINVALID, "no master key: set OTTR_MASTER_KEY or data_dir")
	}
	path := filepath.Join(c.DataDir, masterKeyFile)
	k, err := readMasterKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = createMasterKey(path)
		if err == nil {
			a.progress("created master key %s (mode 0600); back it up: secrets sealed under it cannot be opened without it", path)
			if c.Database != "" {
				a.progress("note: with a shared PostgreSQL database every replica needs this key; set OTTR_MASTER_KEY on each")
			}
		}
	}
	return k, err
}

func readMasterKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "master key %s has mode %04o; it must be readable by its owner only (chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "master key: %v", err)
	}
	k, err := ottr.ParseMasterKey(string(b))
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "master key %s: %s", path, ottr.ErrorMessage(err))
	}
	return k, nil
}

func createMasterKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "data_dir: %v", err)
	}
	k := ottr.NewMasterKey()
	// O_EXCL: two processes starting at once must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readMasterKey(path)
	}
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "create master key: %v", err)
	}
	if _, err := fmt.Fprintln(f, ottr.EncodeMasterKey(k)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	return k, nil
}
