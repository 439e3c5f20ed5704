// Command k3s stands in for the real k3s binary in the Molecule scenario: a
// static executable systemd can run as a Type=notify service, so the role's
// start, restart and readiness logic meet a real process. Its version is baked
// in at build time (-ldflags "-X main.version=...").
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

var version = "v0.0.0+k3s0"

// The server leaves "PID VERSION" here while it runs: the stand-in kubectl
// answers for the running server, like the real API would, not for whatever
// binary is on disk.
const serverFile = "/run/k3s/standin-server"

// The configuration the running process read at start, so a check can tell a
// restarted process from one that merely had its file rewritten.
const loadedConfig = "/run/k3s/standin-config.yaml"

// One line per start, so a check can count restarts across role runs.
const startLog = "/run/k3s/standin-starts"

func main() {
	if len(os.Args) < 2 {
		fail("usage: k3s --version | server|agent --config FILE | kubectl ...")
	}
	switch os.Args[1] {
	case "--version", "-v", "version":
		fmt.Printf("k3s version %s (molecule stand-in)\ngo version %s\n", version, runtime.Version())
	case "server", "agent":
		run(os.Args[1], os.Args[2:])
	case "kubectl":
		kubectl()
	default:
		fail("stand-in k3s cannot run: " + strings.Join(os.Args[1:], " "))
	}
}

func run(role string, args []string) {
	if len(args) != 2 || args[0] != "--config" {
		fail(role + " needs exactly --config FILE")
	}
	config, err := os.ReadFile(args[1])
	check(err)
	check(os.MkdirAll("/run/k3s", 0o755))
	check(os.WriteFile(loadedConfig, config, 0o600))
	starts, err := os.OpenFile(startLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	check(err)
	_, err = fmt.Fprintf(starts, "%d %s\n", os.Getpid(), version)
	check(err)
	check(starts.Close())
	if role == "server" {
		check(os.WriteFile("/etc/rancher/k3s/k3s.yaml", []byte(kubeconfig), 0o600))
		check(os.WriteFile(serverFile, []byte(fmt.Sprintf("%d %s\n", os.Getpid(), version)), 0o644))
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	notify("READY=1")
	<-stop
	if role == "server" {
		_ = os.Remove(serverFile)
	}
}

// notify tells systemd the service is up (Type=notify); a name starting with
// "@" is an abstract socket, which Go's net package maps for us.
func notify(state string) {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	check(err)
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	check(err)
}

// kubectl answers only the role's readiness query (get node NAME -o
// jsonpath=...): every node reports the running server's version, Ready.
func kubectl() {
	text, err := os.ReadFile(serverFile)
	if err != nil {
		fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
	}
	fields := strings.Fields(string(text))
	pid, err := strconv.Atoi(fields[0])
	if err != nil || len(fields) != 2 || syscall.Kill(pid, 0) != nil {
		fail("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?")
	}
	fmt.Printf("%s True", fields[1])
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

// The shape of the admin kubeconfig k3s writes, with placeholder credentials.
const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: c3RhbmQtaW4tY2E=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    client-certificate-data: c3RhbmQtaW4tY2VydA==
    client-key-data: c3RhbmQtaW4ta2V5
`
