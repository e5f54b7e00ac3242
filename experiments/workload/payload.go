package workload

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// PayloadPackage is the payload binary's package.
const PayloadPackage = "github.com/alps-sched/alps/cmd/alps-payload"

// PayloadLDFlags are the linker flags that build the payload without the Go runtime on
// goarch (cmd/alps-payload/start_amd64.s, linux/amd64 only): its ELF entry point is then an
// assembly routine that does the same work. Elsewhere the payload is the plain Go program.
func PayloadLDFlags(goarch string) string {
	if goarch == "amd64" {
		return "-E=main.start"
	}
	return ""
}

// BuildPayload builds the payload (static, for the host's architecture or $GOARCH) into
// dir and returns its path. It needs the go command and the module's source.
func BuildPayload(dir string) (string, error) {
	goarch := os.Getenv("GOARCH")
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	out := filepath.Join(dir, "alps-payload")
	cmd := exec.Command("go", "build", "-ldflags="+PayloadLDFlags(goarch), "-o", out, PayloadPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the payload: %v: %s", err, b)
	}
	return out, nil
}
