"""Drives the code-interpreter-session simulator with the official OpenAI Python SDK.

Start the simulator first:   npx code-interpreter simulate --port 4010
Then:                        OPENAI_BASE_URL=http://127.0.0.1:4010/v1 OPENAI_API_KEY=test python simulator_check.py

Every step asserts what the real API does (shapes, errors); the script exits non-zero on the first
difference and prints one line per step otherwise.
"""

import io
import json
import os
import sys
import urllib.request

import openai
from openai import OpenAI

BASE = os.environ["OPENAI_BASE_URL"].rstrip("/")
CONTROL = BASE.rsplit("/v1", 1)[0] + "/__simulator"
CSV = b"region,product,units,revenue\nWest,Widget,10,100\nEast,Gadget,5,250\nWest,Gadget,7,350\n"
client = OpenAI(max_retries=0)


def step(name, ok=True):
    if not ok:
        print(f"FAIL {name}")
        sys.exit(1)
    print(f"ok   {name}")


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(CONTROL + path, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as res:
        text = res.read()
        return json.loads(text) if text else None


# Containers: create, retrieve, list, upload a file, list its files.
container = client.containers.create(name="py-check", expires_after={"anchor": "last_active_at", "minutes": 20})
step("containers.create returns a cntr_ id and status running", container.id.startswith("cntr_") and container.status == "running")
step("containers.retrieve", client.containers.retrieve(container.id).id == container.id)
step("containers.list pages include it", any(c.id == container.id for c in client.containers.list(limit=100)))
cfile = client.containers.files.create(container.id, file=("sales.csv", io.BytesIO(CSV), "text/csv"))
step("containers.files.create (multipart) returns a cfile_ under /mnt/data", cfile.id.startswith("cfile_") and cfile.path.startswith("/mnt/data/") and cfile.path.endswith("sales.csv") and cfile.source == "user")
step("containers.files.list", [f.id for f in client.containers.files.list(container.id)] == [cfile.id])
content = client.containers.files.content.retrieve(cfile.id, container_id=container.id)
step("containers.files.content.retrieve returns the bytes", content.read() == CSV)

try:
    client.containers.create(name="too-long", expires_after={"anchor": "last_active_at", "minutes": 21})
    step("expires_after.minutes 21 is refused", False)
except openai.BadRequestError as error:
    step("expires_after.minutes 21 is refused with 400", error.status_code == 400)

# Responses with the tool on that container: text, code call, citation of a generated file.
response = client.responses.create(
    model="gpt-5",
    input="Total revenue by region, as a chart",
    tools=[{"type": "code_interpreter", "container": container.id}],
    include=["code_interpreter_call.outputs"],
)
calls = [item for item in response.output if item.type == "code_interpreter_call"]
step("responses.create runs code in the container", len(calls) == 1 and calls[0].container_id == container.id and calls[0].code)
step("code call outputs carry logs", any(o.type == "logs" for o in (calls[0].outputs or [])))
citations = [a for item in response.output if item.type == "message" for part in item.content if part.type == "output_text" for a in part.annotations if a.type == "container_file_citation"]
step("output_text cites the generated files", len(citations) >= 1 and all(c.container_id == container.id for c in citations))
step("response.output_text is the joined text", "revenue" in response.output_text.lower())
chart = next(c for c in citations if c.filename.endswith((".png", ".svg")))
data = client.containers.files.content.retrieve(chart.file_id, container_id=container.id).read()
step(f"the cited chart downloads ({chart.filename}, {len(data)} bytes)", len(data) > 0)

# Chains and stored responses.
again = client.responses.create(model="gpt-5", input="and units by product?", previous_response_id=response.id, tools=[{"type": "code_interpreter", "container": container.id}])
step("previous_response_id continues the chain", again.previous_response_id == response.id)
step("responses.retrieve", client.responses.retrieve(response.id).id == response.id)
step("responses.input_items.list", len(client.responses.input_items.list(response.id).data) >= 1)

# Streaming: the events the SDK's stream helpers read.
with client.responses.stream(model="gpt-5", input="units by region", tools=[{"type": "code_interpreter", "container": container.id}]) as stream:
    kinds = {event.type for event in stream}
    final = stream.get_final_response()
step("streamed events include code and text deltas", {"response.code_interpreter_call_code.delta", "response.output_text.delta", "response.completed"} <= kinds)
step("the stream's final response has the text", "units" in final.output_text.lower())

# Files API + input_file with an auto container (the guide's example 3).
uploaded = client.files.create(file=("sales.csv", io.BytesIO(CSV), "text/csv"), purpose="user_data")
auto = client.responses.create(
    model="gpt-5",
    input=[{"role": "user", "content": [{"type": "input_file", "file_id": uploaded.id}, {"type": "input_text", "text": "Plot revenue by region as chart.png"}]}],
    tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
)
auto_citations = [a for item in auto.output if item.type == "message" for part in item.content if part.type == "output_text" for a in part.annotations if a.type == "container_file_citation"]
step("input_file + auto container: the model saw the CSV and cited chart.png", any(c.filename == "chart.png" for c in auto_citations))
png_citation = next(c for c in auto_citations if c.filename == "chart.png")
png = client.containers.files.content.retrieve(png_citation.file_id, container_id=png_citation.container_id).read()
step("chart.png downloads as a PNG", png[:8] == b"\x89PNG\r\n\x1a\n")

# Control routes: put a file in the container as if the model's code wrote it, read the request log.
added = control("POST", f"/containers/{container.id}/files", {"name": "notes.txt", "text": "written by the test"})
step("a file put in through the control routes downloads through the SDK", client.containers.files.content.retrieve(added["id"], container_id=container.id).read() == b"written by the test")
log = control("GET", "/requests")
step("the request log shows that download last, with its arrival time", f"{log[-1]['method']} {log[-1]['path']}" == f"GET /containers/{container.id}/files/{added['id']}/content" and log[-1]["status"] == 200 and log[-1]["time"] >= log[0]["time"])

# Expiry as the real API shows it.
control("POST", f"/containers/{container.id}/expire")
step("an expired container is still retrievable with status expired", client.containers.retrieve(container.id).status == "expired")
try:
    client.responses.create(model="gpt-5", input="again", tools=[{"type": "code_interpreter", "container": container.id}])
    step("a run on an expired container is refused", False)
except openai.BadRequestError as error:
    step(f"a run on an expired container is refused with 400 ({error.message[:60]}...)", error.status_code == 400)

# Rate limiting and server errors as the SDK sees them.
control("POST", "/faults", {"status": 429, "path": "/files", "retryAfterSeconds": 1})
try:
    client.files.list()
    step("an injected 429 reaches the SDK", False)
except openai.RateLimitError as error:
    step("an injected 429 is a RateLimitError with retry-after", error.response.headers.get("retry-after") == "1")

# Clean up: delete everything this script made; the simulator must have nothing left.
for c in client.containers.list(limit=100):
    if c.status == "running":
        client.containers.delete(c.id)
for f in client.files.list():
    client.files.delete(f.id)
state = control("GET", "/state")
step(f"nothing left after clean-up ({state['requests']} requests served)", state["runningContainers"] == [] and state["files"] == [])
print(f"python openai {openai.__version__}: all checks passed")
