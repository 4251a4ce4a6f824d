# Run by Debian's dash from an ext2 root made by tools/debian-root.sh, under
# Keel and on the host in `chroot TREE /bin/dash /script.sh`: the boot test
# (Tests/Boot/boot_tests.py, debian_dash_script_matches_linux) compares the two
# outputs byte for byte, so nothing here may print a time, a pid or an inode.
export LC_ALL=C PATH=/bin
set -e
echo "== ls"
ls /bin | head -n 8
wc -c /etc/passwd /etc/group
echo "== files"
mkdir -p /tmp/work
cd /tmp/work
seq 1 2000 > numbers
printf 'pear\napple\nfig\nbanana\napple\ncherry\n' > fruit
sort fruit
sort -u fruit | wc -l
sort -rn numbers | head -n 3
sha256sum numbers fruit
cat fruit fruit | sort | uniq -c
head -n 30 numbers | tail -n 2
echo "== pipelines"
seq 1 100000 | tr 0-9 a-j | wc -l -c
seq 1 500 | sort -r | head -n 5 | tr '\n' ' '
echo
cat /etc/passwd | cut -d: -f1,6 | sort
echo "== command substitution"
count=$(seq 1 77 | wc -l)
sum=0
for n in $(seq 1 $count); do sum=$((sum + n)); done
echo "count=$count sum=$sum"
echo "nested: $(echo "$(echo inner | tr a-z A-Z)" | wc -c)"
echo "== background jobs"
(sleep 1; echo slow) > slow.out &
slow=$!
(seq 1 3000 | sha256sum) > fast.out &
fast=$!
wait $fast
echo "fast: $(cut -c1-16 fast.out)"
wait $slow
echo "slow: $(cat slow.out)"
for i in 1 2 3 4; do (seq $i 4 40 | wc -l > job$i.out) & done
wait
cat job1.out job2.out job3.out job4.out | tr '\n' ' '
echo
echo "== status"
if false; then echo no; else echo "false is $?"; fi
true && echo "true && ok"
sh -c 'exit 7' || echo "sh -c exit: $?"
echo "== done"
