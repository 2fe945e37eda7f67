#!/bin/sh
# PID 1 inside User-Mode Linux booted on this machine's own filesystem (hostfs):
#   linux.uml ... rootfstype=hostfs rootflags=/ rw init=scripts/uml/init.sh SOCKBOX_JOB=/path/job.sh
# Brings up lo (plus 127.0.0.2 for multi-homing), loads SCTP from the UML module tree,
# runs the job script (its output goes where the job script sends it), writes the job's
# exit status to "$SOCKBOX_JOB.status" on the host filesystem (no file: the job never
# finished), then powers off. SOCKBOX_JOB comes from the kernel command line (unknown
# key=value words become init's environment).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
ip link set lo up
ip addr add 127.0.0.2/8 dev lo 2>/dev/null
M=/usr/lib/uml/modules/$(uname -r)/kernel
for m in lib/crc-ccitt net/ipv6/ipv6 net/ipv4/udp_tunnel net/ipv6/ip6_udp_tunnel crypto/hmac \
  net/sctp/sctp; do
  if [ -e "$M/$m.ko" ]; then
    insmod "$M/$m.ko"
  elif [ -e "$M/$m.ko.xz" ]; then
    tmp=$(mktemp) && xz -dc "$M/$m.ko.xz" >"$tmp" && insmod "$tmp"
    rm -f "$tmp"
  fi
done
if [ -n "$SOCKBOX_JOB" ] && [ -f "$SOCKBOX_JOB" ]; then
  sh "$SOCKBOX_JOB"
  echo "$?" >"$SOCKBOX_JOB.status"
fi
sync
halt -f -p || poweroff -f
