# bash completion for sluice (installed as share/bash-completion/completions/sluice).
# Completes commands, each command's options, pipeline folders, run ids (from `sluice runs`),
# task keys of a run and partner ids of a folder.
_sluice_runs() {
  sluice runs "$1" --json 2>/dev/null | sed -n 's/^ *"run_id": "\([^"]*\)".*/\1/p'
}

_sluice_partners() {
  local d
  for d in "$1"/partners/*/; do
    [ -d "$d" ] && basename "$d"
  done
}

_sluice() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local commands="init validate run repair runs show logs summary backfill cancel infer serve report dag export gc"
  if [ "$cword" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local cmd="${words[1]}" opts=""
  case "$cmd" in
    init) opts="--sample-data --date --rows --seed --partners --partner-count --threads --force --data-only" ;;
    validate) opts="--json --strict" ;;
    run) opts="--date --partners --parallelism --executor --kill-grace-seconds --resume --quiet --verbose" ;;
    repair) opts="--tasks --downstream --partners --dry-run --parallelism --executor --kill-grace-seconds --quiet --verbose" ;;
    runs) opts="--json --limit --state --date" ;;
    show) opts="--json" ;;
    logs) opts="--partner --attempt" ;;
    summary) opts="--date --json" ;;
    backfill) opts="--from --to --only --max-active-runs --partners --parallelism --executor --dry-run --json" ;;
    export) opts="--to --out --partners --sluice --workdir --image --python-file --wrapper --parallelism" ;;
  esac
  local dir="${words[2]}"
  case "$prev" in
    --partners|--partner)
      COMPREPLY=($(compgen -W "$(_sluice_partners "$dir")" -- "$cur"))
      return ;;
    --only)
      COMPREPLY=($(compgen -W "missing failed all" -- "$cur"))
      return ;;
    --state)
      COMPREPLY=($(compgen -W "running success failed cancelled" -- "$cur"))
      return ;;
    --executor)
      COMPREPLY=($(compgen -W "local slurm" -- "$cur"))
      return ;;
    --date|--from|--to|--rows|--seed|--partner-count|--threads|--parallelism|--limit|--attempt|--max-active-runs|--kill-grace-seconds|--tasks)
      return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
  elif [ "$cword" -eq 2 ]; then
    COMPREPLY=($(compgen -d -- "$cur"))
  elif [ "$cword" -eq 3 ] && [[ " repair show logs summary cancel report " == *" $cmd "* ]]; then
    COMPREPLY=($(compgen -W "$(_sluice_runs "$dir")" -- "$cur"))
  fi
}
complete -F _sluice sluice
