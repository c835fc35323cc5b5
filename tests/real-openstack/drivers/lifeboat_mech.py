"""Agentless ML2 mechanism driver for the test harness.

Binds every normal-vNIC port on any host to the first segment offered, with
vif_type 'ovs', and marks it ACTIVE, so that Nova's fake virt driver boots
on real Neutron ports. No L2 agent, no OVS, no dataplane: the API, the IPAM,
the MACs, the security groups and the bindings are real Neutron's.
Loaded by its entry point (lifeboat_neutron_shim-0.1.dist-info beside it).
"""
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api


class AgentlessMechanismDriver(api.MechanismDriver):

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        vnic = context.current.get(portbindings.VNIC_TYPE, portbindings.VNIC_NORMAL)
        if vnic != portbindings.VNIC_NORMAL:
            return
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID], portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False},
                status=constants.PORT_STATUS_ACTIVE)
            return
