#include "tools/synap-server/server.h"

namespace synap::server {

void Server::AddClient(uint64_t id, const ClientInfo& c) {
  std::lock_guard lk(clients_mu_);
  clients_[id] = c;
}

void Server::UpdateClient(uint64_t id, const std::string& name, int proto, uint64_t commands) {
  std::lock_guard lk(clients_mu_);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  it->second.name = name;
  it->second.proto = proto;
  it->second.commands = commands;
}

void Server::RemoveClient(uint64_t id) {
  std::lock_guard lk(clients_mu_);
  clients_.erase(id);
}

std::map<uint64_t, ClientInfo> Server::Clients() {
  std::lock_guard lk(clients_mu_);
  return clients_;
}

size_t Server::client_count() {
  std::lock_guard lk(clients_mu_);
  return clients_.size();
}

void Server::CountChannel(const std::string& channel, int delta) {
  std::lock_guard lk(channels_mu_);
  int& n = channels_[channel];
  n += delta;
  if (n <= 0) channels_.erase(channel);
}

std::map<std::string, int> Server::Channels() {
  std::lock_guard lk(channels_mu_);
  return channels_;
}

}  // namespace synap::server
