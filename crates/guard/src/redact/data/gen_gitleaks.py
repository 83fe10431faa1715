"""Regenerates gitleaks.tsv from a pinned gitleaks checkout.

Usage: python3 gen_gitleaks.py GITLEAKS_TOML LICENSE COMMIT OUT_TSV
"""
import tomllib, sys
src, lic, commit, dest = sys.argv[1:5]
d=tomllib.load(open(src,'rb'))
# Rules interlock already covers with its own detectors (kept: ours are
# validated per provider), or that match public identifiers / file paths.
covered = set('''
1password-service-account-token age-secret-key anthropic-admin-api-key anthropic-api-key atlassian-api-token
aws-access-token aws-amazon-bedrock-api-key-long-lived aws-amazon-bedrock-api-key-short-lived azure-ad-client-secret
curl-auth-header curl-auth-user databricks-api-token digitalocean-access-token digitalocean-pat digitalocean-refresh-token
discord-api-token doppler-api-token dynatrace-api-token gcp-api-key generic-api-key github-app-token
github-fine-grained-pat github-oauth github-pat github-refresh-token gitlab-cicd-job-token gitlab-deploy-token
gitlab-feature-flag-client-token gitlab-feed-token gitlab-incoming-mail-token gitlab-kubernetes-agent-token gitlab-pat
gitlab-pat-routable gitlab-ptt gitlab-rrt gitlab-runner-authentication-token gitlab-runner-authentication-token-routable
gitlab-scim-token grafana-cloud-api-token grafana-service-account-token hashicorp-tf-api-token heroku-api-key-v2
huggingface-access-token huggingface-organization-api-token jwt linear-api-key mailchimp-api-key npm-access-token
openai-api-key perplexity-api-key planetscale-api-token planetscale-oauth-token planetscale-password postman-api-token
private-key pulumi-api-token pypi-upload-token rubygems-api-token sendgrid-api-token sendinblue-api-token
sentry-access-token sentry-org-token sentry-user-token shopify-access-token shopify-custom-access-token
shopify-private-app-access-token shopify-shared-secret slack-app-token slack-bot-token slack-config-access-token
slack-config-refresh-token slack-legacy-bot-token slack-legacy-token slack-legacy-workspace-token slack-user-token
slack-webhook-url snyk-api-token sonar-api-token square-access-token stripe-access-token telegram-bot-api-token
vault-batch-token vault-service-token twilio-api-key new-relic-user-api-key
'''.split())
not_secret = set('''
adobe-client-id asana-client-id bitbucket-client-id discord-client-id linkedin-client-id looker-client-id
plaid-client-id messagebird-client-id sendbird-access-id sumologic-access-id new-relic-user-api-id
flutterwave-public-key lob-pub-api-key mailgun-pub-key pkcs12-file jwt-base64 kubernetes-secret-yaml
'''.split())
ids={r['id'] for r in d['rules']}
assert covered<=ids and not_secret<=ids, (covered-ids, not_secret-ids)
out=[]
out.append('# Provider rule data from gitleaks (https://github.com/gitleaks/gitleaks),')
out.append(f'# config/gitleaks.toml at commit {commit}.')
out.append('# Columns, tab-separated: rule id, secret capture group ("-" = the first group')
out.append('# if any, else the whole match; "0" where the first group is a repetition),')
out.append('# keywords (comma-separated, lowercase), regex.')
out.append('# Only the rules interlock does not cover with its own detectors, and none')
out.append('# scoped to file paths; regenerate')
out.append('# from the pinned file when updating with gen_gitleaks.py.')
out.append('#')
for line in open(lic).read().rstrip('\n').split('\n'):
    out.append(('# '+line).rstrip())
n=0
for r in d['rules']:
    if r['id'] in covered or r['id'] in not_secret: continue
    # Scoped to file names (e.g. `.tf`): the redactor sees no paths, and such
    # rules are generic `password = "…"` shapes our keyword rules judge.
    if 'path' in r: continue
    rx=r['regex']; kw=r.get('keywords',[])
    assert '\t' not in rx and '\n' not in rx and kw, r['id']
    assert all(',' not in k and '\t' not in k for k in kw)
    g=str(r['secretGroup']) if 'secretGroup' in r else '-'
    import re as pyre
    if g=='-' and pyre.search(r'\((?!\?)[^()]*\)[{*+?]', rx):
        g='0'  # the first group is a repetition, not the secret: the whole match
    out.append('\t'.join([r['id'], g, ','.join(k.lower() for k in kw), rx]))
    n+=1
open(dest,'w').write('\n'.join(out)+'\n')
print(n,'rules')
