package ssm

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// One instance filter, from either of DescribeInstanceInformation's lists.
type instanceFilter struct {
	key    string
	values []string
}

// Valid values of the filters SSM checks, as its errors list them.
var filterValues = map[string][]string{
	"PingStatus":    {"Online", "ConnectionLost", "Inactive"},
	"PlatformTypes": {"Windows", "Linux", "MacOS"},
	"ResourceType":  {"EC2Instance", "ManagedInstance"},
	"SourceTypes":   {"AWS::EC2::Instance", "AWS::SSM::ManagedInstance", "AWS::IoT::Thing"},
}

// describeInstanceInformation lists the managed instances that pass every
// filter, a page at a time. Filters (keys InstanceIds, PingStatus,
// PlatformTypes, ResourceType, AgentVersion, SourceIds, SourceTypes,
// tag:<key>, tag-key) and the legacy InstanceInformationFilterList are
// modelled; ActivationIds, IamRole and AssociationStatus are refused, as
// the simulator has no hybrid activations, roles or associations.
func (s *Service) describeInstanceInformation(body []byte) (any, *apiError) {
	var in struct {
		Filters []struct {
			Key    *string
			Values []string
		}
		InstanceInformationFilterList []struct {
			Key      *string `json:"key"`
			ValueSet []string
		}
		MaxResults *int
		NextToken  *string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	var v violations
	var filters []instanceFilter
	for i, f := range in.Filters {
		p := fmt.Sprintf("filters.%d.member", i+1)
		if v.required(f.Key != nil, p+".key") {
			v.length(f.Key, p+".key", 1, 0)
		}
		if v.required(f.Values != nil, p+".values") {
			v.count(f.Values, p+".values", 1, 100)
		}
		if f.Key != nil {
			filters = append(filters, instanceFilter{*f.Key, f.Values})
		}
	}
	for i, f := range in.InstanceInformationFilterList {
		p := fmt.Sprintf("instanceInformationFilterList.%d.member", i+1)
		if v.required(f.Key != nil, p+".key") {
			v.enum(f.Key, p+".key", "InstanceIds", "AgentVersion", "PingStatus", "PlatformTypes", "ActivationIds", "IamRole", "ResourceType", "AssociationStatus")
		}
		if v.required(f.ValueSet != nil, p+".valueSet") {
			v.count(f.ValueSet, p+".valueSet", 1, 100)
		}
		if f.Key != nil {
			filters = append(filters, instanceFilter{*f.Key, f.ValueSet})
		}
	}
	v.intRange(in.MaxResults, "maxResults", 5, 50)
	if e := v.err(); e != nil {
		return nil, e
	}
	if len(in.Filters) > 0 && len(in.InstanceInformationFilterList) > 0 {
		return nil, &apiError{"ValidationException", "InstanceInformationFilterList and Filters cannot be used in the same request."}
	}
	tags := 0
	for _, f := range filters {
		if strings.HasPrefix(f.key, "tag:") || f.key == "tag-key" {
			tags++
		}
	}
	if tags > 0 && tags < len(filters) {
		return nil, &apiError{"ValidationException", "Cannot mix tag or inventory filter with any other filter."}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range filters {
		if e := s.checkFilter(f); e != nil {
			return nil, e
		}
	}
	list := []map[string]any{}
	for _, inst := range s.instances {
		if matchesAll(inst, filters) {
			list = append(list, info(inst))
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i]["InstanceId"].(string) < list[j]["InstanceId"].(string) })
	max := 50
	if in.MaxResults != nil {
		max = *in.MaxResults
	}
	list, next, e := page("DescribeInstanceInformation", list, in.NextToken, max)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"InstanceInformationList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// checkFilter refuses a filter key or value SSM refuses, and those the
// simulator does not model; s.mu is held.
func (s *Service) checkFilter(f instanceFilter) *apiError {
	switch f.key {
	case "InstanceIds":
		var unknown []string
		for _, id := range f.values {
			if s.instance(id) == nil {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			return &apiError{"InvalidInstanceId", "Instance ids [" + strings.Join(unknown, ", ") + "] are not valid managed instances."}
		}
	case "ResourceType":
		if len(f.values) > 1 {
			return &apiError{"InvalidInstanceInformationFilterValue", "ResourceType filter may contain only one value."}
		}
		fallthrough
	case "PingStatus", "PlatformTypes", "SourceTypes":
		for _, x := range f.values {
			if !contains(filterValues[f.key], x) {
				return &apiError{"InvalidInstanceInformationFilterValue", fmt.Sprintf("%s filter is invalid, valid values are %s", f.key, strings.Join(filterValues[f.key], ", "))}
			}
		}
	case "AgentVersion", "SourceIds", "tag-key":
	case "ActivationIds", "IamRole", "AssociationStatus":
		return &apiError{"InvalidFilterKey", "The " + f.key + " filter is not modelled by this simulator (it has no hybrid activations, instance roles or associations)."}
	default:
		if !strings.HasPrefix(f.key, "tag:") || len(f.key) == len("tag:") {
			return &apiError{"InvalidFilterKey", "The specified key " + f.key + " isn't valid."}
		}
	}
	return nil
}

func matchesAll(inst *Instance, filters []instanceFilter) bool {
	for _, f := range filters {
		var have []string
		switch f.key {
		case "InstanceIds", "SourceIds":
			have = []string{inst.ID}
		case "PingStatus":
			have = []string{pingStatus(inst)}
		case "PlatformTypes":
			have = []string{"Linux"}
		case "ResourceType":
			have = []string{"EC2Instance"}
		case "SourceTypes":
			have = []string{"AWS::EC2::Instance"}
		case "AgentVersion":
			have = []string{agentVersion}
		case "tag-key":
			for k := range inst.tags {
				have = append(have, k)
			}
		default: // tag:<key>, checked
			if v, ok := inst.tags[strings.TrimPrefix(f.key, "tag:")]; ok {
				have = []string{v}
			}
		}
		match := false
		for _, h := range have {
			match = match || contains(f.values, h)
		}
		if !match {
			return false
		}
	}
	return true
}

const agentVersion = "3.3.40.0"

func pingStatus(inst *Instance) string {
	if inst.Online {
		return "Online"
	}
	return "ConnectionLost"
}

func info(inst *Instance) map[string]any {
	ping := inst.lastPing
	if inst.Online {
		ping = time.Now()
	}
	return map[string]any{"InstanceId": inst.ID, "PingStatus": pingStatus(inst), "LastPingDateTime": epoch(ping),
		"AgentVersion": agentVersion, "IsLatestVersion": false, "PlatformType": "Linux", "PlatformName": "Ubuntu",
		"PlatformVersion": "22.04", "ResourceType": "EC2Instance", "IPAddress": "127.0.0.1", "ComputerName": inst.Name,
		"SourceId": inst.ID, "SourceType": "AWS::EC2::Instance"}
}
