"""A private Postfix instance: smtpd on a loopback port, queue on disk (Postfix's own
fsync discipline), everything relayed to a given port. The benchmark harness relays to
smtp-sink with it; PostfixJournalTests journals through it to a node (`settings` adds
or overrides main.cf parameters).

Postfix only starts from a non-default configuration directory that the default
/etc/postfix/main.cf lists in alternate_config_directories: `start` adds it there
(creating that file if the Debian package left none) and `stop` takes it out again, so
run as root.
"""
import os
import re
import shutil
import subprocess
import time

MAIN_CF = "/etc/postfix/main.cf"


def _listed(config_dir, listed):
    """Puts config_dir in alternate_config_directories (listed) or takes it out."""
    text = open(MAIN_CF).read() if os.path.exists(MAIN_CF) else ""
    match = re.search(r"^alternate_config_directories\s*=\s*(.*)$", text, re.M)
    directories = [d for d in (match.group(1).split() if match else []) if d != config_dir]
    if listed:
        directories.append(config_dir)
    line = f"alternate_config_directories = {' '.join(directories)}" if directories else ""
    if match:
        text = text.replace(match.group(0), line)
    elif line:
        text += f"\n{line}\n"
    with open(MAIN_CF, "w") as f:
        f.write(text)


class PostfixRelay:
    def __init__(self, work, port, relay_port, settings=None):
        self.root = os.path.join(work, "postfix")
        self.etc = os.path.join(self.root, "etc")
        self.log = os.path.join(self.root, "log", "postfix.log")
        self.port = port
        os.makedirs(self.etc, exist_ok=True)
        for sub in ("queue", "data", "log"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        shutil.chown(os.path.join(self.root, "data"), "postfix")
        shutil.chown(os.path.join(self.root, "log"), "postfix")
        master = open("/etc/postfix/master.cf").read()
        # Our smtpd on the given port instead of :25, nothing chrooted.
        master = re.sub(r"^smtp\s+inet\s.*$", f"127.0.0.1:{port} inet n - n - - smtpd", master, flags=re.M)
        master = re.sub(r"^(\S+\s+\S+\s+\S+\s+\S+\s+)y(\s)", r"\1n\2", master, flags=re.M)
        open(os.path.join(self.etc, "master.cf"), "w").write(master)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": f"{self.root}/queue",
            "data_directory": f"{self.root}/data",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "relay.bench.test",
            "mydestination": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": f"[127.0.0.1]:{relay_port}",
            "smtpd_recipient_restrictions": "permit_mynetworks, reject",
            "maillog_file_prefixes": f"{self.root}/log",
            "maillog_file": self.log,
            "smtp_tls_security_level": "none",
            "default_process_limit": "200",
            **(settings or {}),
        }
        open(os.path.join(self.etc, "main.cf"), "w").write("".join(f"{k} = {v}\n" for k, v in main.items()))

    def postfix(self, *args):
        return subprocess.run(["/usr/sbin/postfix", "-c", self.etc, *args], capture_output=True, text=True)

    def start(self):
        _listed(self.etc, True)
        self.postfix("set-permissions")  # creates the queue directories with Postfix's owners
        result = self.postfix("start")
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed: {result.stdout} {result.stderr}")

    def queue_empty(self):
        out = subprocess.run(["/usr/sbin/postqueue", "-c", self.etc, "-p"], capture_output=True, text=True).stdout
        return "Mail queue is empty" in out

    def wait_empty(self, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.queue_empty():
                return time.time()
            time.sleep(0.05)
        raise RuntimeError("postfix queue did not drain")

    def log_lines(self):
        return open(self.log, errors="replace").read().splitlines() if os.path.exists(self.log) else []

    def stop(self):
        self.postfix("stop")
        _listed(self.etc, False)
