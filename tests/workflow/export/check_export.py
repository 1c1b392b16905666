#!/usr/bin/env python3
"""Checks a `sluice export` file the way its orchestrator would read it, and prints its task graph.

Usage: check_export.py airflow|databricks|argo FILE

airflow     compiled (py_compile), then an AST walk: imports only airflow and the standard
            library's datetime, one BashOperator per task, `a >> b` edges.
databricks  validated against databricks_jobs_2_1.schema.json (the Jobs API 2.1 jobs/create
            request, the fields sluice writes), task keys unique, depends_on resolvable.
argo        parsed as YAML, validated against argo_workflow.schema.json (the Workflow CRD's
            fields sluice writes; with SLUICE_ARGO_SCHEMA=PATH also against Argo's published
            api/jsonschema/schema.json), names as Argo's validator wants them, templates and
            `depends` resolvable.
On success prints {"tasks": {instance: {name, task, partner, deps, rule, retries, timeout, cpus,
memory_mib}}} (cpus and memory_mib 0 when the target carries none)
(JSON; instances and deps named as sluice names them, "merge_orders[acme]") and
exits 0; otherwise prints what is wrong on stderr and exits 1.
"""
import ast
import json
import os
import py_compile
import re
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = ["ALL_SUCCESS", "ALL_DONE", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS", "AT_LEAST_ONE_FAILED",
         "ALL_FAILED"]
AIRFLOW_RULES = {"all_success": "ALL_SUCCESS", "all_done": "ALL_DONE", "none_failed": "NONE_FAILED",
                 "one_success": "AT_LEAST_ONE_SUCCESS", "one_failed": "AT_LEAST_ONE_FAILED",
                 "all_failed": "ALL_FAILED"}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def task_and_partner(argv):
    """--task and --partner of a `sluice task exec` command line."""
    task = partner = ""
    for i, a in enumerate(argv):
        if a == "--task" and i + 1 < len(argv):
            task = argv[i + 1]
        if a == "--partner" and i + 1 < len(argv):
            partner = argv[i + 1]
    if "exec" not in argv or not task:
        fail("not a `sluice task exec` command line: %r" % (argv,))
    return task, partner


def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def check_airflow(path):
    try:
        py_compile.compile(path, doraise=True)
    except py_compile.PyCompileError as e:
        fail("py_compile: %s" % e)
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module or ""]
        else:
            continue
        for m in mods:
            if not (m == "airflow" or m.startswith("airflow.") or m == "datetime"):
                fail("line %d imports %s: only airflow (and datetime) may be imported" %
                     (node.lineno, m))
    imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("airflow") for a in n.names}
    if "DAG" not in imported or "BashOperator" not in imported:
        fail("DAG and BashOperator must be imported from airflow")
    if not any(isinstance(n, ast.With) and isinstance(n.items[0].context_expr, ast.Call) and
               getattr(n.items[0].context_expr.func, "id", "") == "DAG" for n in ast.walk(tree)):
        fail("no `with DAG(...)` block")
    var_to_id, tasks = {}, {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and
                getattr(node.value.func, "id", "") == "BashOperator"):
            continue
        kw = {k.arg: k.value for k in node.value.keywords}
        task_id = literal(kw["task_id"])
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", task_id or ""):
            fail("task_id %r is not an Airflow task id" % task_id)
        if task_id in tasks:
            fail("task_id %s twice" % task_id)
        var_to_id[node.targets[0].id] = task_id
        task, partner = task_and_partner(shlex.split(literal(kw["bash_command"])))
        timeout = 0
        if "execution_timeout" in kw:
            timeout = literal(kw["execution_timeout"].keywords[0].value)
        rule = literal(kw.get("trigger_rule", ast.Constant("all_success")))
        if rule not in AIRFLOW_RULES:
            fail("trigger_rule %r is not one Airflow has" % rule)
        resources = literal(kw["resources"]) if "resources" in kw else {}
        if not isinstance(resources, dict) or not set(resources) <= {"cpus", "ram", "disk", "gpus"}:
            fail("task %s: resources %r are not the arguments of Airflow's Resources" %
                 (task_id, resources))
        tasks[task_id] = {"task": task, "partner": partner, "deps": [],
                          "rule": AIRFLOW_RULES[rule], "retries": literal(kw["retries"]),
                          "timeout": timeout, "cpus": resources.get("cpus", 0),
                          "memory_mib": resources.get("ram", 0)}
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
            up, down = var_to_id.get(node.left.id), var_to_id.get(node.right.id)
            if up is None or down is None:
                fail("line %d: >> between names that are not tasks" % node.lineno)
            tasks[down]["deps"].append(up)
    return tasks


def acyclic(tasks):
    state = {}

    def visit(n, path):
        if state.get(n) == 1:
            fail("cycle through %s" % " -> ".join(path + [n]))
        if state.get(n) == 2:
            return
        state[n] = 1
        for d in tasks[n]["deps"]:
            visit(d, path + [n])
        state[n] = 2
    for n in tasks:
        visit(n, [])


def validate(doc, schema, what):
    import jsonschema
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail("\n".join("%s: %s at %s" % (what, e.message, "/".join(map(str, e.path)))
                       for e in errors[:20]))


def check_databricks(path):
    job = json.load(open(path, encoding="utf-8"))
    validate(job, json.load(open(os.path.join(HERE, "databricks_jobs_2_1.schema.json"))),
             "Jobs API 2.1")
    tasks = {}
    for t in job["tasks"]:
        if t["task_key"] in tasks:
            fail("task_key %s twice" % t["task_key"])
        params = t["spark_python_task"]["parameters"]
        split = params.index("--")
        for entry in params[:split]:
            if "=" not in entry:
                fail("wrapper environment entry %r has no '='" % entry)
        task, partner = task_and_partner(params[split + 1:])
        tasks[t["task_key"]] = {"task": task, "partner": partner,
                                "deps": [d["task_key"] for d in t.get("depends_on", [])],
                                "rule": t.get("run_if", "ALL_SUCCESS"),
                                "retries": t.get("max_retries", 0),
                                "timeout": t.get("timeout_seconds", 0),
                                "cpus": 0, "memory_mib": 0}
    for k, t in tasks.items():
        for d in t["deps"]:
            if d not in tasks:
                fail("task %s depends on unknown task_key %s" % (k, d))
    return tasks


ARGO_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")


def argo_depends(rule, ups):
    """The `depends` sluice writes for `rule` (as export.cpp spells it)."""
    forms = {"ALL_SUCCESS": ("@.Succeeded", "&&"),
             "ALL_DONE": ("@.Succeeded || @.Failed || @.Errored || @.Skipped || @.Omitted", "&&"),
             "NONE_FAILED": ("@.Succeeded || @.Skipped || @.Omitted", "&&"),
             "AT_LEAST_ONE_SUCCESS": ("@.Succeeded", "||"),
             "AT_LEAST_ONE_FAILED": ("@.Failed || @.Errored", "||"),
             "ALL_FAILED": ("@.Failed || @.Errored", "&&")}
    f, op = forms[rule]
    return (" %s " % op).join("(" + f.replace("@", u) + ")" for u in ups)


def check_argo(path):
    import yaml
    wf = yaml.safe_load(open(path, encoding="utf-8"))
    validate(wf, json.load(open(os.path.join(HERE, "argo_workflow.schema.json"))),
             "Argo Workflow (fields sluice writes)")
    published = os.environ.get("SLUICE_ARGO_SCHEMA")
    if published:
        full = json.load(open(published))
        validate(wf, {"$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow",
                      "definitions": full["definitions"]}, "Argo's published schema")
    templates = {t["name"]: t for t in wf["spec"]["templates"]}
    if len(templates) != len(wf["spec"]["templates"]):
        fail("template names repeat")
    for name in templates:
        if not ARGO_NAME.match(name) or len(name) > 128:
            fail("template name %r is not an Argo name" % name)
    main = templates.get(wf["spec"]["entrypoint"])
    if main is None or "dag" not in main:
        fail("entrypoint %r is not a dag template" % wf["spec"]["entrypoint"])
    tasks = {}
    for t in main["dag"]["tasks"]:
        if not ARGO_NAME.match(t["name"]) or len(t["name"]) > 128:
            fail("task name %r is not an Argo name" % t["name"])
        if t["name"] in tasks:
            fail("task %s twice" % t["name"])
        tmpl = templates.get(t["template"])
        if tmpl is None or "container" not in tmpl:
            fail("task %s uses unknown template %s" % (t["name"], t["template"]))
        params = {p["name"]: p["value"] for p in t.get("arguments", {}).get("parameters", [])}
        wanted = {p["name"] for p in tmpl.get("inputs", {}).get("parameters", [])}
        if set(params) != wanted:
            fail("task %s passes %s to a template that takes %s" % (t["name"], sorted(params),
                                                                   sorted(wanted)))
        argv = [a.replace("{{inputs.parameters.partner}}", params.get("partner", ""))
                for a in tmpl["container"]["args"]]
        task, partner = task_and_partner(argv)
        deps = re.findall(r"\(([a-zA-Z0-9][-a-zA-Z0-9]*)\.", t.get("depends", ""))
        deps = list(dict.fromkeys(deps))
        rule = "ALL_SUCCESS"
        if deps:
            matches = [r for r in RULES if argo_depends(r, deps) == t["depends"]]
            if not matches:
                fail("task %s: depends %r is not a run_if sluice writes" % (t["name"], t["depends"]))
            rule = matches[0]
        retries = tmpl.get("retryStrategy", {}).get("limit", 0)
        requests = tmpl["container"].get("resources", {}).get("requests", {})
        limits = tmpl["container"].get("resources", {}).get("limits", {})
        if requests.get("memory") != limits.get("memory"):
            fail("template %s: memory request %r and limit %r differ" %
                 (t["template"], requests.get("memory"), limits.get("memory")))
        memory = requests.get("memory", "0Mi")
        if not memory.endswith("Mi"):
            fail("template %s: memory %r is not in Mi" % (t["template"], memory))
        tasks[t["name"]] = {"task": task, "partner": partner, "deps": deps, "rule": rule,
                            "retries": int(retries),
                            "timeout": int(tmpl.get("activeDeadlineSeconds", 0)),
                            "cpus": int(requests.get("cpu", "0")),
                            "memory_mib": int(memory[:-2])}
    for k, t in tasks.items():
        for d in t["deps"]:
            if d not in tasks:
                fail("task %s depends on unknown task %s" % (k, d))
    return tasks


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    target, path = sys.argv[1], sys.argv[2]
    tasks = {"airflow": check_airflow, "databricks": check_databricks,
             "argo": check_argo}[target](path)
    acyclic(tasks)
    # Named as sluice names instances ("merge_orders[acme]"), whatever the target calls them.
    instance = {k: t["task"] + ("[%s]" % t["partner"] if t["partner"] else "")
                for k, t in tasks.items()}
    if len(set(instance.values())) != len(instance):
        fail("two tasks run the same instance")
    out = {}
    for k, t in tasks.items():
        t["deps"] = sorted(instance[d] for d in t["deps"])
        t["name"] = k
        out[instance[k]] = t
    print(json.dumps({"tasks": out}, sort_keys=True))


if __name__ == "__main__":
    main()
