// Command stratusvcsim runs govmomi's vCenter simulator (Debian's golang-github-vmware-govmomi-dev) on loopback for
// Stratus's vSphere driver tests. It prints VCSIM_URL=<sdk url> (and VCSIM_CERT=<pem file> with -tls) on its first
// lines, then serves until SIGINT or SIGTERM.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0: any free port)")
	user := flag.String("user", "user", "accepted user name")
	pass := flag.String("pass", "pass", "accepted password")
	esx := flag.Bool("esx", false, "standalone ESXi model instead of vCenter")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	hosts := flag.Int("host", 3, "hosts per cluster")
	vms := flag.Int("vm", 2, "VMs per resource pool")
	datastores := flag.Int("ds", 1, "datastores (each mounted on every host)")
	useTLS := flag.Bool("tls", false, "serve https with a self-signed certificate")
	hostIP := flag.String("host-ip", "", "first management address given to the hosts, one each in turn (e.g. 127.0.1.1); default: all 127.0.0.1")
	delay := flag.String("method-delay", "", "per-method delays in ms, e.g. PowerOnVM_Task=2000,Login=500 (fault injection)")
	flag.Parse()

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	} else {
		model.Cluster = *clusters
		model.ClusterHost = *hosts
	}
	model.Machine = *vms
	model.Datastore = *datastores
	if *delay != "" {
		model.DelayConfig.MethodDelay = map[string]int{}
		for _, pair := range strings.Split(*delay, ",") {
			kv := strings.SplitN(pair, "=", 2)
			if len(kv) != 2 {
				log.Fatalf("-method-delay: %q is not Method=ms", pair)
			}
			ms, err := strconv.Atoi(kv[1])
			if err != nil {
				log.Fatalf("-method-delay: %q: %v", pair, err)
			}
			model.DelayConfig.MethodDelay[kv[0]] = ms
		}
	}
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	if *hostIP != "" {
		ip := net.ParseIP(*hostIP).To4()
		if ip == nil {
			log.Fatalf("-host-ip: %q is not an IPv4 address", *hostIP)
		}
		for _, e := range simulator.Map.All("HostSystem") {
			h := e.(*simulator.HostSystem)
			if h.Config == nil || h.Config.Network == nil || len(h.Config.Network.Vnic) == 0 || h.Config.Network.Vnic[0].Spec.Ip == nil {
				continue
			}
			h.Config.Network.Vnic[0].Spec.Ip.IpAddress = ip.String()
			ip = net.IPv4(ip[0], ip[1], ip[2], ip[3]+1).To4()
		}
	}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	if *useTLS {
		model.Service.TLS = new(tls.Config)
	}
	s := model.Service.NewServer()
	fmt.Printf("VCSIM_URL=%s\n", s.URL)
	if *useTLS {
		file, err := s.CertificateFile()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("VCSIM_CERT=%s\n", file)
	}
	fmt.Println("VCSIM_READY")
	_ = os.Stdout.Sync()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	s.Close()
	model.Remove()
}
