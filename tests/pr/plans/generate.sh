#!/bin/sh
# Regenerates the real plan JSON fixtures (create/update/replace/delete/noop/outputs) with
# Terraform >= 1.4 (terraform_data needs no provider). The golden comments in ../golden/
# follow from them: run `pytest tests/pr --update-golden` afterwards and review the diff.
set -eu
TF=${TF:-terraform}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/main.tf.example" "$work/main.tf"
cd "$work"
export TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 HOME="$work"
show() { "$TF" show -json p.tfplan | python3 -c 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=1, sort_keys=True)' > "$here/$1.json"; }
"$TF" init -input=false >/dev/null
"$TF" plan -input=false -out p.tfplan >/dev/null; show create
"$TF" apply -input=false -auto-approve p.tfplan >/dev/null
"$TF" plan -input=false -out p.tfplan >/dev/null; show noop
"$TF" plan -input=false -var owner=team-b -var db_password=new-SECRET-pw2 -out p.tfplan >/dev/null; show update
"$TF" plan -input=false -var gen=2 -out p.tfplan >/dev/null; show replace
"$TF" plan -input=false -var with_web=false -out p.tfplan >/dev/null; show delete
"$TF" plan -input=false -var extra_output=true -out p.tfplan >/dev/null; show outputs
