"""Drives the server with python-gitlab 3.12 exactly as a user script would.

Prints one JSON object with what each call returned; the vitest side asserts.
Env: GL_URL, GL_TOKEN (root, all scopes).
"""
import json
import os
import sys
import warnings

import gitlab

warnings.simplefilter("ignore")
url = os.environ["GL_URL"]
root = gitlab.Gitlab(url, private_token=os.environ["GL_TOKEN"])
out = {}

# --- identity fixtures -------------------------------------------------------
root.auth()
out["root_username"] = root.user.username

user = root.users.create({"username": "py_maint", "name": "Py Maintainer", "email": "py_maint@example.com",
                          "password": "Secret-password-1", "skip_confirmation": True})
out["user_id"] = user.id
pat = user.personal_access_tokens.create({"name": "py", "scopes": ["api"]})
out["pat_prefix"] = pat.token[:6]

group = root.groups.create({"name": "Py Group", "path": "py-group"})
sub = root.groups.create({"name": "Py Sub", "path": "py-sub", "parent_id": group.id})
out["subgroup_full_path"] = sub.full_path
project = root.projects.create({"name": "py-proj", "namespace_id": sub.id})
out["project_path"] = project.path_with_namespace
sub.members.create({"user_id": user.id, "access_level": 30})
project.members.create({"user_id": user.id, "access_level": 40})
out["project_members"] = sorted(m.username for m in project.members.list(get_all=True))

maint = gitlab.Gitlab(url, private_token=pat.token)
p_as_maint = maint.projects.get(project.path_with_namespace)
out["maintainer_sees_runners_token"] = bool(getattr(p_as_maint, "runners_token", None))
runners_token = p_as_maint.runners_token

# --- runners ---------------------------------------------------------------
reg = root.runners.create({"token": runners_token, "description": "py-runner",
                           "info": {"name": "gitlab-runner", "version": "16.1.0", "platform": "linux", "architecture": "amd64"},
                           "tag_list": ["py", "linux"], "run_untagged": False, "locked": False})
out["registered_token_prefix"] = reg.token[:3]
runner_id = reg.id

r = root.runners.get(runner_id)
out["runner_description"] = r.description
out["runner_tags"] = sorted(r.tag_list)
out["runner_status"] = r.status
r.description = "py-runner-renamed"
r.tag_list = ["py", "linux", "extra"]
r.save()
out["after_save"] = root.runners.get(runner_id).description

out["runners_all_list"] = [x.id for x in root.runners_all.list(type="project_type", get_all=True)]
out["runners_all_paused_false"] = [x.id for x in root.runners_all.list(paused=False, tag_list=["py", "linux"], get_all=True)]
out["runners_all_scope"] = [x.id for x in root.runners.all(scope="project_type", get_all=True)]
out["owned_list_as_maint"] = [x.id for x in maint.runners.list(scope="active", get_all=True)]
out["project_runners"] = [x.id for x in project.runners.list(get_all=True)]
out["group_runners"] = [x.id for x in group.runners.list(get_all=True)]
out["jobs"] = [j.id for j in r.jobs.list(status="success", get_all=True)]

root.runners.verify(reg.token)
out["verify_ok"] = True

# A second project: assign then unassign the runner.
other = root.projects.create({"name": "py-other", "namespace_id": sub.id})
other.runners.create({"runner_id": runner_id})
out["other_project_runners"] = [x.id for x in other.runners.list(get_all=True)]
other.runners.delete(runner_id)
out["other_after_delete"] = [x.id for x in other.runners.list(get_all=True)]

# Pagination across pages with get_all follows Link rel=next.
for i in range(5):
    root.runners.create({"token": runners_token, "description": f"bulk-{i}"})
listed = root.runners_all.list(per_page=2, get_all=True)
out["paged_count"] = len(listed)
page1 = root.runners_all.list(per_page=2, page=1)
out["page1_len"] = len(page1)
# Keyset mode (extension): python-gitlab follows the cursor in Link rel=next.
out["offset_ids"] = [x.id for x in root.runners_all.list(per_page=100, get_all=True)]
out["keyset_ids"] = [x.id for x in root.runners_all.list(pagination="keyset", order_by="id", sort="asc", per_page=2, get_all=True)]
out["keyset_desc_ids"] = [x.id for x in root.runners_all.list(pagination="keyset", order_by="id", sort="desc", per_page=2, iterator=True)]

root.runners.delete(runner_id)
try:
    root.runners.get(runner_id)
    out["deleted_404"] = False
except gitlab.exceptions.GitlabGetError as e:
    out["deleted_404"] = e.response_code == 404

try:
    root.runners.verify("nope-not-a-token")
    out["bad_verify"] = "accepted"
except gitlab.exceptions.GitlabError as e:
    out["bad_verify"] = e.response_code

json.dump(out, sys.stdout)
