# bash completion for loopfetch (installed as .../bash-completion/completions/loopfetch).
# Keep the option lists in step with `loopfetch --help` (tests/unit/test_completion.sh checks it).

# `loopfetch status [--json | --urls | --shards] [-i LIST] DIR...`
_loopfetch_status() {
  local cur=$1 prev=$2
  case "$prev" in
  -i | --input)
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return
    ;;
  esac
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "--json --urls --shards --input --help -i -h" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -d -- "$cur") # output folders (or manifest files: -o default)
  fi
}

_loopfetch() {
  local cur prev
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev=""
  ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
  if ((COMP_CWORD > 1)) && [[ "${COMP_WORDS[1]}" == status ]]; then
    _loopfetch_status "$cur" "$prev"
    return
  fi
  local opts="--select --follow --next --max-pages --max-urls --save-all --extract --each --records --csv --save --input --links --output-dir --manifest --force --no-clobber --refresh --continue
    --content-disposition --verbose --quiet --progress --json --trace --waterfall --concurrency
    --warc-file --no-warc-compression --warc-max-size --warc-cdx --warc-dedup --no-warc-dedup
    --retries --retry-max-wait --max-redirs --connect-timeout --stall-timeout --timeout --max-size --max-list-size --per-host
    --rate --wait --random-wait --robots --max-crawl-delay --sitemap --user-agent --header --cacert --procs --shard --layout --compare --help --version
    --proxy --noproxy --proxy-user --user --netrc --netrc-file --location-trusted
    --allow-insecure-redirect --cookie --cookie-jar --limit-rate --split
    -e -i -o -v -q -c -C -H -p -u -f -s -h -V"
  case "$prev" in
  -o | --output-dir)
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    return
    ;;
  -i | --input | --manifest | --trace | --waterfall | --cacert | --warc-file | --records | --csv | --netrc-file | --cookie | --cookie-jar)
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return
    ;;
  --layout)
    mapfile -t COMPREPLY < <(compgen -W "flat hash host" -- "$cur")
    return
    ;;
  --robots)
    mapfile -t COMPREPLY < <(compgen -W "on off" -- "$cur")
    return
    ;;
  --sitemap)
    mapfile -t COMPREPLY < <(compgen -W "robots" -- "$cur")
    return
    ;;
  --select | -f | --follow | --next | --max-pages | --max-urls | -e | --extract | --each | -c | --concurrency | --retries | --retry-max-wait | --max-redirs | --connect-timeout | \
    --stall-timeout | --timeout | --max-size | --max-list-size | --per-host | --rate | --wait | --max-crawl-delay | --user-agent | -H | \
    --header | -p | --procs | --shard | --warc-max-size | --proxy | --noproxy | --proxy-user | -u | --user | --limit-rate | -s | --split)
    COMPREPLY=() # a value of the user's own
    return
    ;;
  esac
  if [[ "$cur" == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
  elif ((COMP_CWORD == 1)); then
    mapfile -t COMPREPLY < <(compgen -W "status" -- "$cur") # the subcommand
  fi
}
complete -o default -F _loopfetch loopfetch
