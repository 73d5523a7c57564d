"""Drive the simulated Junos device with Juniper's PyEZ (jnpr.junos) and
print what each step got back as JSON; the Go test asserts on it."""
import json
import sys
import warnings

from jnpr.junos import Device
from jnpr.junos.exception import ConfigLoadError, CommitError, RpcError
from jnpr.junos.utils.config import Config

warnings.simplefilter("ignore")
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = {}


def step(name, fn):
    try:
        out[name] = fn()
    except (ConfigLoadError, CommitError, RpcError) as e:
        out[name] = {"rpc_error": type(e).__name__, "message": str(getattr(e, "message", "") or e)}
    except Exception as e:  # recorded, asserted on by the Go test
        out[name] = {"error": "%s: %s" % (type(e).__name__, e)}


def committed_hostname():
    return dev.rpc.get_config(options={"database": "committed"}).findtext(".//system/host-name")


dev = Device(host=host, port=port, user=user, passwd=password, gather_facts=True)
dev.open()
facts = {k: dev.facts[k] for k in ("hostname", "model", "version", "serialnumber", "domain", "fqdn", "master", "RE0")}
facts["RE0"] = dict(facts["RE0"] or {})
out["facts"] = facts

cu = Config(dev)
step("lock", cu.lock)
step("load_set", lambda: cu.load("set system host-name pyez-lab", format="set") is not None)
step("diff", cu.diff)
step("commit_check", cu.commit_check)
step("after_check", committed_hostname)
step("commit", lambda: cu.commit(comment="pyez check"))
step("after_commit", committed_hostname)
step("load_text", lambda: cu.load('system { login { message "managed by pyez"; } }', format="text", merge=True) is not None)
step("commit_text", cu.commit)
step("text_message", lambda: dev.rpc.get_config(options={"database": "committed", "format": "text"}).text)
step("load_bad", lambda: cu.load("set system no-such-statement 1", format="set"))
step("diff_after_bad", cu.diff)
step("rollback", lambda: cu.rollback(2))
step("diff_rollback", cu.diff)
step("commit_rollback", cu.commit)
step("after_rollback", committed_hostname)
step("unlock", cu.unlock)

step("cli", lambda: dev.cli("show version", warning=False))
step("cli_config", lambda: dev.cli("show configuration system host-name", warning=False))
step("rpc_software", lambda: dev.rpc.get_software_information().findtext("host-name"))
step("rpc_bad", lambda: dev.rpc.cli("show no-such-thing", format="text").text)
dev.close()
print(json.dumps(out))
