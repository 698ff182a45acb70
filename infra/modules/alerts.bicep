// Log alerts over the app's telemetry in Application Insights, sent to one action group.
// The log contract the app must honour is in docs/deployment.md ("Log contract for alerts"):
// every record has an `event` name, either as a field of a JSON trace message (pino line forwarded via
// context.log) or in customDimensions (trace or customEvent); the fields used below sit beside it.
param actionGroupName string
param location string
param tags object
param appInsightsId string
param emailReceivers array
param missedRunToleranceInHours int

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'mbx-audit'
    enabled: true
    emailReceivers: [
      for (address, index) in emailReceivers: {
        name: 'email-${index}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

// Normalises both shapes of a record into (timestamp, event, props, operation_Id).
var recordsQuery = '''
let records = union
    (traces | project timestamp, message, customDimensions, operation_Id),
    (customEvents | project timestamp, message = name, customDimensions, operation_Id)
| extend parsed = parse_json(message)
| extend props = iff(gettype(parsed) == "dictionary", parsed, customDimensions)
| extend event = coalesce(tostring(props.event), message);
records
'''

var failedRunsQuery = '${recordsQuery}| where event == "run.failed" or (event == "run.completed" and toint(props.failed) > 0)\n| project timestamp, event, runId = tostring(props.runId), failed = toint(props.failed), errorCode = tostring(props.errorCode), operation_Id'

var failedRemediationQuery = '${recordsQuery}| where event == "remediation.failed" or (event == "run.completed" and toint(props.remediationFailed) > 0)\n| project timestamp, event, runId = tostring(props.runId), target = tostring(props.target), code = tostring(props.code), operation_Id'

var missedRunQuery = '${recordsQuery}| where event == "run.completed" and timestamp > ago(${missedRunToleranceInHours}h)'

// Runs are nightly: a one-hour window evaluated every 15 minutes tolerates ingestion delay,
// and muting for the window length stops the same record from notifying four times.
resource failedRunsAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-failed-runs'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Mailbox audit: failed run'
    description: 'A run failed outright (run.failed) or completed with failed targets (run.completed with failed > 0).'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    muteActionsDuration: 'PT1H'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: failedRunsQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource failedRemediationAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-failed-remediation'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Mailbox audit: failed remediation'
    description: 'A change to bring a mailbox or the organisation back to the baseline failed or could not be verified.'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    muteActionsDuration: 'PT1H'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: failedRemediationQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// Unattended means silence is a failure too: no completed run within the tolerance raises an alert.
resource missedRunAlert 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: 'alert-missed-run'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Mailbox audit: no completed run'
    description: 'No run.completed record within the missed-run tolerance: the timer, the host or the identity is broken.'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: missedRunQuery
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
