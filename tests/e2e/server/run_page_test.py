"""Starts `cosyvoice serve` on the tiny model and runs the headless-Chromium page test against it.
    run_page_test.py CLI BUNDLE NODE PAGE_TEST_JS ARTIFACT_DIR"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from server_util import Server  # noqa: E402

cli, bundle, node, script, artifacts = sys.argv[1:6]
if not os.path.isfile(os.environ.get("CHROMIUM", "")):
    sys.exit("Chromium not found: run `make deps` (Debian package chromium)")
data = tempfile.mkdtemp(prefix="cosyvoice-page-")
server = Server(cli, bundle, data_dir=data)
try:
    code = subprocess.call([node, script, server.url, bundle, "/usr/share/sounds/alsa/Front_Center.wav",
                            "/usr/share/sounds/alsa/Rear_Left.wav", artifacts])
finally:
    exit_code = server.stop()
print(server.output()[-3000:])
if code == 0 and exit_code != 0:
    sys.exit(f"server exited with {exit_code}")
sys.exit(code)
