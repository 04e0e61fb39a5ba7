package evidence

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes of VerifyCommand.
const (
	exitOK       = 0
	exitRefused  = 1 // the bundle is not intact, or cannot be read
	exitUsageErr = 2
)

// VerifyUsage is the synopsis of the verify command.
const VerifyUsage = "usage: api verify-evidence -pub KEYFILE BUNDLE.zip   (flags before or after the file)"

// VerifyCommand is `api verify-evidence`: it checks a bundle offline, with the deployment's
// public key only (no configuration, no database), prints every member's state and each
// problem naming its file, and returns 0 when the bundle is intact, 1 when it is not, 2 for
// a wrong command line.
func VerifyCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-evidence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubPath := fs.String("pub", "", "the deployment's Ed25519 public key: PEM PUBLIC KEY, or 32 bytes raw or hex")
	fs.Usage = func() {
		fmt.Fprintln(stderr, VerifyUsage)
		fs.PrintDefaults()
	}
	// Flags may come before or after the bundle's name.
	if err := fs.Parse(args); err != nil {
		return exitUsageErr
	}
	var file string
	if fs.NArg() > 0 {
		file = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return exitUsageErr
		}
	}
	switch {
	case file == "" || fs.NArg() > 0:
		fmt.Fprintln(stderr, "verify-evidence: give exactly one bundle")
		fs.Usage()
		return exitUsageErr
	case *pubPath == "":
		fmt.Fprintln(stderr, "verify-evidence: -pub is required")
		fs.Usage()
		return exitUsageErr
	}
	pub, err := LoadPublicKey(*pubPath)
	if err != nil {
		fmt.Fprintf(stderr, "verify-evidence: %v\n", err)
		return exitRefused
	}
	rep, err := verifyFile(file, pub)
	if err != nil {
		fmt.Fprintf(stderr, "verify-evidence: %s: %v\n", file, err)
		return exitRefused
	}
	m := rep.Manifest
	fmt.Fprintf(stdout, "bundle %s: incident %s, generated %s for %s, key %s\n", file, m.IncidentID, m.GeneratedAt.Format("2006-01-02T15:04:05Z07:00"), m.GeneratedFor, m.KeyID)
	bad := map[string]bool{}
	for _, p := range rep.Problems {
		bad[p.File] = true
	}
	for _, e := range m.Files {
		state := "ok"
		if bad[e.Name] {
			state = "FAILED"
		}
		fmt.Fprintf(stdout, "  %-6s %s  %s\n", state, e.SHA256, e.Name)
	}
	if rep.OK() {
		fmt.Fprintf(stdout, "OK: signature valid, %d files match the manifest, nothing missing or added\n", rep.Checked)
		return exitOK
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "FAILED %s\n", p)
	}
	if !rep.SignatureOK {
		fmt.Fprintln(stdout, "REFUSED: the manifest's signature does not verify; its list of files cannot be trusted")
	} else {
		fmt.Fprintf(stdout, "REFUSED: %d problem(s)\n", len(rep.Problems))
	}
	return exitRefused
}

func verifyFile(path string, pub []byte) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Report{}, err
	}
	if st.IsDir() {
		return Report{}, errors.New("is a directory")
	}
	return Verify(f, st.Size(), pub)
}
